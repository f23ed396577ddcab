//! Validation rows checked after every epoch, early stopping on their loss
//! with the best epoch's parameters restored, and checkpoints: on the CPU
//! and the GPU path alike.

use crate::common::{gpu, random_matrix};
use neurona::{
    Activation, Backend, BatchOrder, Device, EarlyStopping, EpochReport, Init, Loss, Matrix,
    Network, Observer, Optimizer, OptimizerState, TrainConfig,
};

/// A noisy 2-class problem small enough to overfit: 60 training rows,
/// 40 validation rows, and a 2-64-64-2 network that memorises the noise.
fn overfitting() -> (Network, Matrix, Matrix, Matrix, Matrix) {
    let rows = |seed: u64, n: usize| {
        let x = random_matrix(seed, n, 2, -1.0, 1.0);
        let noise = random_matrix(seed + 100, n, 1, 0.0, 1.0);
        let mut y = vec![0.0f32; n * 2];
        for r in 0..n {
            // The true rule is x0 > 0; a third of the labels are flipped.
            let class = ((x[2 * r] > 0.0) ^ (noise[r] < 0.33)) as usize;
            y[2 * r + class] = 1.0;
        }
        (Matrix::new(n, 2, x).unwrap(), Matrix::new(n, 2, y).unwrap())
    };
    let (x, y) = rows(1, 60);
    let (vx, vy) = rows(2, 40);
    let net = Network::builder(2)
        .layer(64, Activation::Relu)
        .layer(64, Activation::Relu)
        .layer(2, Activation::Softmax)
        .init(Init::Auto)
        .build(3)
        .unwrap();
    (net, x, y, vx, vy)
}

fn config(epochs: usize) -> TrainConfig {
    crate::common::plain()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam())
        .learning_rate(0.01)
        .batch_size(16)
        .order(BatchOrder::Shuffled { seed: 4 })
        .epochs(epochs)
}

/// Records every epoch and hands out checkpoints at epochs `wanted`.
#[derive(Default)]
struct Recorder {
    epochs: Vec<EpochReport>,
    wanted: Vec<usize>,
    checkpoints: Vec<(usize, Network, OptimizerState)>,
}

impl Observer for Recorder {
    fn epoch(&mut self, e: &EpochReport) {
        self.epochs.push(e.clone());
    }
    fn wants_checkpoint(&mut self, e: &EpochReport) -> bool {
        self.wanted.contains(&e.epoch)
    }
    fn checkpoint(
        &mut self,
        e: &EpochReport,
        net: &Network,
        state: &OptimizerState,
    ) -> neurona::Result<()> {
        self.checkpoints.push((e.epoch, net.clone(), state.clone()));
        Ok(())
    }
}

fn validation_is_the_networks_loss_and_predictions_each_epoch(device: &Device) {
    let (net, x, y, vx, vy) = overfitting();
    let cfg = config(6);
    let mut trained = net.clone();
    let mut state = OptimizerState::new(&net, cfg.optimizer).unwrap();
    let mut seen = Recorder {
        wanted: vec![2],
        ..Default::default()
    };
    let report = trained
        .fit(
            device,
            (&x, &y),
            Some((&vx, &vy)),
            &cfg,
            &mut state,
            &mut seen,
        )
        .unwrap();
    assert_eq!(report.epochs.len(), 6);
    assert_eq!(seen.epochs.len(), 6);
    assert_eq!(report.best_epoch, None, "no early stopping, no best epoch");
    // The last epoch's validation is the trained network's, computed on
    // the device: the loss and predictions the CPU gives for it.
    let last = seen.epochs.last().unwrap().validation.as_ref().unwrap();
    let cpu_loss = trained.loss(&vx, &vy, Loss::CrossEntropy).unwrap();
    assert!(
        (last.loss - cpu_loss).abs() <= 1e-5 * cpu_loss,
        "{} vs {cpu_loss}",
        last.loss
    );
    let p = trained.predict(&vx).unwrap();
    let worst = p
        .as_slice()
        .iter()
        .zip(last.predictions.as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "predictions differ by {worst}");
    // The checkpoint after epoch 2 is the network of a 3-epoch run.
    let (epoch, kept, kept_state) = &seen.checkpoints[0];
    assert_eq!(*epoch, 2);
    let mut three = net.clone();
    three
        .train_on(device, &x, &y, &cfg.clone().epochs(3), |_| {})
        .unwrap();
    assert_eq!(kept, &three);
    assert_eq!((kept_state.steps, kept_state.epochs), (12, 3));
    assert_eq!((state.steps, state.epochs), (24, 6));
}
on_each_backend!(
    validation_is_the_networks_loss_and_predictions_each_epoch,
    validation_each_epoch_on_the_cpu,
    validation_each_epoch_on_the_gpu
);

/// An early-stopped run on `device`: its report, network and state.
fn stopped(device: &Device) -> (neurona::TrainReport, Network, OptimizerState) {
    let (net, x, y, vx, vy) = overfitting();
    let cfg = config(200).early_stopping(EarlyStopping {
        patience: 8,
        min_delta: 1e-4,
    });
    let mut trained = net.clone();
    let mut state = OptimizerState::new(&net, cfg.optimizer).unwrap();
    let report = trained
        .fit(
            device,
            (&x, &y),
            Some((&vx, &vy)),
            &cfg,
            &mut state,
            &mut |_: &_| {},
        )
        .unwrap();
    (report, trained, state)
}

fn early_stopping_ends_on_the_best_epoch(device: &Device) {
    let (report, trained, state) = stopped(device);
    let best = report.best_epoch.expect("a best epoch");
    assert!(
        report.stopped_early,
        "200 epochs overfit long before their end"
    );
    assert_eq!(
        report.epochs.len(),
        best + 1 + 8,
        "8 epochs without improvement"
    );
    let losses: Vec<f64> = report
        .epochs
        .iter()
        .map(|e| e.validation_loss.unwrap())
        .collect();
    let lowest = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best], lowest);
    // The network and state are those of a run of exactly best + 1 epochs.
    let (net, x, y, _, _) = overfitting();
    let mut again = net.clone();
    let mut again_state = OptimizerState::new(&net, Optimizer::adam()).unwrap();
    again
        .resume_on(device, &x, &y, &config(best + 1), &mut again_state, |_| {})
        .unwrap();
    assert_eq!(trained, again);
    assert_eq!(state, again_state);
    assert_eq!(report.steps as u64, state.steps);
}
on_each_backend!(
    early_stopping_ends_on_the_best_epoch,
    early_stopping_on_the_cpu,
    early_stopping_on_the_gpu
);

#[test]
fn early_stopping_stops_at_the_same_epoch_on_cpu_and_gpu() {
    let Some(device) = gpu() else { return };
    let cpu = Device::new(Backend::Cpu).unwrap();
    let (on_cpu, cpu_net, _) = stopped(&cpu);
    let (on_gpu, gpu_net, _) = stopped(device);
    assert_eq!(on_cpu.best_epoch, on_gpu.best_epoch);
    assert_eq!(on_cpu.epochs.len(), on_gpu.epochs.len());
    for (g, c) in gpu_net.layers().iter().zip(cpu_net.layers()) {
        let worst = g
            .weights()
            .iter()
            .zip(c.weights())
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "restored weights differ by {worst}");
    }
}

#[test]
fn bad_stopping_settings_are_errors() {
    let (mut net, x, y, vx, vy) = overfitting();
    let cpu = Device::new(Backend::Cpu).unwrap();
    let mut state = OptimizerState::new(&net, Optimizer::adam()).unwrap();
    let rule = |patience| EarlyStopping {
        patience,
        min_delta: 0.0,
    };
    let err = net
        .fit(
            &cpu,
            (&x, &y),
            None,
            &config(3).early_stopping(rule(2)),
            &mut state,
            &mut |_: &_| {},
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("early stopping watches the validation loss"),
        "{err}"
    );
    let err = net
        .fit(
            &cpu,
            (&x, &y),
            Some((&vx, &vy)),
            &config(3).early_stopping(rule(0)),
            &mut state,
            &mut |_: &_| {},
        )
        .unwrap_err();
    assert!(err.to_string().contains("patience of at least 1"), "{err}");
    let narrow = Matrix::new(40, 3, vec![0.0; 120]).unwrap();
    let err = net
        .fit(
            &cpu,
            (&x, &y),
            Some((&narrow, &vy)),
            &config(3),
            &mut state,
            &mut |_: &_| {},
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("validation rows: inputs have 3 columns"),
        "{err}"
    );
}
