//! `neurona` with no arguments: the origin notebook's experiment on the best
//! device, saying what it did.

use neurona::{Result, TrainConfig, notebook};

pub fn run() -> Result<()> {
    let device = super::open_device(None)?;
    let (x, y) = notebook::data();
    let mut net = notebook::network();
    let config = TrainConfig::notebook();
    outln!(
        "training the notebook's network {net} from its weights (np.random.seed(1)): \
         10,000 full-batch steps, learning rate 1, MSE summed over the batch"
    );
    let report = net.train_on(&device, &x, &y, &config, |p| {
        outln!("  step {:>5}: loss {:.6}", p.step, p.loss);
    })?;
    let p = net.predict(&x)?;
    outln!(
        "after {} steps in {:.2?}: loss {:.3e}",
        report.steps,
        report.elapsed,
        report.final_loss
    );
    for r in 0..x.rows() {
        outln!(
            "  {:?} -> {:.6} (target {})",
            x.row(r),
            p.row(r)[0],
            y.row(r)[0]
        );
    }
    let rounded: Vec<u8> = p.as_slice().iter().map(|v| v.round() as u8).collect();
    outln!("predictions rounded: {rounded:?}, targets [0, 1, 1, 0]");
    Ok(())
}
