//! Many networks at once: seed sweeps, hyper-parameter grids, k-fold
//! cross-validation and ensembles, trained on one data set in one run.
//!
//! A sweep is a list of [`Member`]s, each a network with its own settings
//! (seed, widths, activations, optimizer, learning rate, weight decay,
//! batch size and order) and its own training and validation rows (a
//! [`Fold`], from [`k_folds`]). [`train_members`] trains them all, each in
//! place as [`Network::resume_on`] / [`Network::fit`] would train it alone,
//! to the same bits:
//!
//! - on the GPU, members that fit one workgroup (train_small.wgsl) train
//!   together, one workgroup each in the same dispatches, the data set
//!   uploaded once (`lockstep`); larger members of one shape (widths,
//!   activations, loss, optimizer and weight decay, batch size, row
//!   counts) train stacked: every kernel of a step covers all of them in
//!   one dispatch, each member its own seed, learning rate, batch order
//!   and rows ([`GpuPlacement`]); a shape of one member trains alone
//!   through the resident GPU run;
//! - on the CPU, members train in parallel over the cores (rayon), each on
//!   one thread as it would alone: the CPU path's results do not depend on
//!   the thread or the number of threads.
//!
//! Every member's settings and rows are checked before any trains. A member
//! whose loss diverges stops alone with [`Error::Diverged`] (rolled back as
//! a lone run is), the others go on.
//!
//! ```
//! use neurona::sweep::{Member, train_members};
//! use neurona::{Activation, Backend, Device, Matrix, Network, TrainConfig};
//! let x = Matrix::from_rows(&[[0., 0.], [0., 1.], [1., 0.], [1., 1.]])?;
//! let y = Matrix::from_rows(&[[0.], [1.], [1.], [0.]])?;
//! let mut members = Vec::new();
//! for seed in 0..4 {
//!     let net = Network::builder(2).layer(8, Activation::Tanh).layer(1, Activation::Sigmoid).build(seed)?;
//!     members.push(Member::new(net, TrainConfig::new().learning_rate(0.05).epochs(300).batch_size(2))?);
//! }
//! let cpu = Device::new(Backend::Cpu)?;
//! let reports = train_members(&cpu, &x, &y, &mut members, &())?;
//! // The same as training member 2 alone:
//! let mut alone = Network::builder(2).layer(8, Activation::Tanh).layer(1, Activation::Sigmoid).build(2)?;
//! alone.train(&x, &y, &members[2].config)?;
//! assert_eq!(alone, members[2].network);
//! assert!(reports.iter().all(|r| r.is_ok()));
//! # Ok::<(), neurona::Error>(())
//! ```

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
mod folds;
mod lockstep;

pub use folds::{Fold, k_folds};

use std::borrow::Cow;

use web_time::Instant;

use crate::backend::Device;
use crate::config::TrainConfig;
use crate::driver::{EpochReport, Observer, Progress, TrainReport};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Members, Resident, StackKey};
use crate::matrix::Matrix;
use crate::memory;
use crate::network::Network;
use crate::optimizer::OptimizerState;

/// One network of a sweep, trained in place: where it starts (its
/// network and optimizer state, fresh or from an earlier run), how it
/// trains, and which rows of the sweep's data it trains and validates on.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The network; trained in place.
    pub network: Network,
    /// The optimizer's state; carried on as [`Network::resume_on`] does.
    pub state: OptimizerState,
    /// Its settings.
    pub config: TrainConfig,
    /// The rows it trains on (indices into the data, in this order);
    /// `None`: every row.
    pub train_rows: Option<Vec<u32>>,
    /// The rows checked after every epoch (for early stopping); `None`:
    /// none.
    pub validation_rows: Option<Vec<u32>>,
}

impl Member {
    /// `network` to be trained by `config` on every row, from a fresh
    /// optimizer state.
    pub fn new(network: Network, config: TrainConfig) -> Result<Member> {
        let state = OptimizerState::new(&network, config.optimizer)?;
        Ok(Member {
            network,
            state,
            config,
            train_rows: None,
            validation_rows: None,
        })
    }

    /// This member trained on `fold`'s training rows and validated on its
    /// validation rows.
    pub fn on_fold(mut self, fold: &Fold) -> Member {
        self.train_rows = Some(fold.train.clone());
        self.validation_rows = Some(fold.validation.clone());
        self
    }
}

/// What a sweep tells its caller as members train: every member's steps
/// (each `config.report_every`) and epochs, and when each is done. Called
/// from several threads on the CPU path; every method has a default that
/// does nothing, and `()` observes nothing.
pub trait SweepObserver: Sync {
    /// Member `member`'s batch loss every `config.report_every` steps.
    fn step(&self, _member: usize, _progress: &Progress) {}

    /// The end of one of member `member`'s epochs (runs that stop between
    /// epochs: validation rows, early stopping).
    fn epoch(&self, _member: usize, _epoch: &EpochReport) {}

    /// Member `member` is done.
    fn done(&self, _member: usize, _report: &Result<TrainReport>) {}
}

impl SweepObserver for () {}

/// One member's side of the observer.
struct Watch<'o> {
    member: usize,
    sweep: &'o dyn SweepObserver,
}

impl Observer for Watch<'_> {
    fn step(&mut self, progress: &Progress) {
        self.sweep.step(self.member, progress);
    }

    fn epoch(&mut self, epoch: &EpochReport) {
        self.sweep.epoch(self.member, epoch);
    }
}

/// Rows `rows` of `m`.
fn take(m: &Matrix, rows: &[u32]) -> Result<Matrix> {
    let mut data = memory::with_capacity("a sweep member's rows", rows.len() * m.cols())?;
    for &r in rows {
        data.extend_from_slice(m.row(r as usize));
    }
    Matrix::new(rows.len(), m.cols(), data)
}

/// `e` said of member `i` (from 0) of a sweep.
fn of_member(i: usize, net: &Network, e: Error) -> Error {
    let what = format!("sweep member {} ({net})", i + 1);
    match e {
        Error::TooLarge {
            what: w,
            bytes,
            limit,
        } => Error::TooLarge {
            what: format!("{w} ({what})"),
            bytes,
            limit,
        },
        Error::GpuLimit(m) => Error::GpuLimit(format!("{what}: {m}")),
        Error::Data(m) => Error::Data(format!("{what}: {m}")),
        other => Error::Config(format!("{what}: {other}")),
    }
}

/// Whether `member` trains together with the other small members on
/// `device` (a GPU, the member fitting one workgroup with the batches it
/// takes of `inputs`' rows), rather than alone; `false` on the CPU path.
pub fn together(device: &Device, member: &Member, inputs: &Matrix) -> bool {
    let rows = member.train_rows.as_ref().map_or(inputs.rows(), Vec::len);
    let config = member.config.for_network(&member.network);
    device
        .gpu_context()
        .is_some_and(|ctx| Members::fits(ctx, &member.network, config.batch_rows(rows), &config))
}

/// A member's rows: its training rows (all, when it names none) and
/// validation rows, checked against the data's `rows`.
fn rows_of(i: usize, member: &Member, rows: usize) -> Result<(Vec<u32>, Option<Vec<u32>>)> {
    let check = |list: &[u32], what: &str| -> Result<()> {
        if list.is_empty() {
            return Err(of_member(
                i,
                &member.network,
                Error::Data(format!("its {what} rows are an empty list")),
            ));
        }
        if let Some(r) = list.iter().find(|&&r| r as usize >= rows) {
            return Err(of_member(
                i,
                &member.network,
                Error::Data(format!(
                    "its {what} rows name row {r}, but the data has {rows} rows"
                )),
            ));
        }
        Ok(())
    };
    let train = match &member.train_rows {
        Some(t) => {
            check(t, "training")?;
            t.clone()
        }
        None => (0..rows as u32).collect(),
    };
    if let Some(v) = &member.validation_rows {
        check(v, "validation")?;
    }
    Ok((train, member.validation_rows.clone()))
}

/// A checked member's settings, training rows and validation rows.
type Checked = (TrainConfig, Vec<u32>, Option<Vec<u32>>);

/// Every check a lone run of each member would make, before any member
/// trains: the settings made for each network, its data and rows, its
/// state; and that all fit in memory.
fn check_members(inputs: &Matrix, targets: &Matrix, members: &[Member]) -> Result<Vec<Checked>> {
    if members.is_empty() {
        return Err(Error::Config(
            "a sweep needs at least one member; the list of networks is empty".into(),
        ));
    }
    let rows = inputs.rows();
    if rows == 0 {
        return Err(Error::EmptyData);
    }
    // Room for every member's network and optimizer state at once.
    let bytes = memory::total(members.iter().map(|m| {
        let values: usize = m.network.layers().iter().map(|l| l.parameter_count()).sum();
        memory::bytes_of::<f32>(values)
            .and_then(|b| b.checked_mul(2 + m.config.optimizer.moments() as u64))
    }));
    memory::check(
        &format!("the networks of {} sweep members", members.len()),
        bytes,
    )?;
    let mut checked = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        let net = &m.network;
        if net.inputs() != inputs.cols() {
            return Err(of_member(
                i,
                net,
                Error::Data(format!(
                    "its network takes {} inputs, but the data has {} input columns; the members of a sweep share one data set",
                    net.inputs(),
                    inputs.cols()
                )),
            ));
        }
        if net.outputs() != targets.cols() {
            return Err(of_member(
                i,
                net,
                Error::Data(format!(
                    "its network gives {} outputs, but the data has {} target columns",
                    net.outputs(),
                    targets.cols()
                )),
            ));
        }
        let (train, validation) = rows_of(i, m, rows)?;
        let config = m.config.for_network(net);
        let fail = |e| of_member(i, net, e);
        if train.len() == rows {
            config
                .check_run(net, inputs, targets, &m.state)
                .map_err(fail)?;
        } else {
            let (x, y) = (take(inputs, &train)?, take(targets, &train)?);
            config.check_run(net, &x, &y, &m.state).map_err(fail)?;
        }
        match &validation {
            Some(v) => {
                let (x, y) = (take(inputs, v)?, take(targets, v)?);
                config
                    .check_data(net, &x, &y)
                    .map_err(|e| fail(Error::Data(format!("validation rows: {e}"))))?;
            }
            None if config.early_stopping.is_some() => {
                return Err(fail(Error::Config(
                    "early stopping watches the validation loss: give the member validation rows"
                        .into(),
                )));
            }
            None => {}
        }
        checked.push((config, train, validation));
    }
    Ok(checked)
}

/// Train every member of `members` on `inputs`, `targets` (or the rows
/// each names), in place, on `device`: each as it would train alone
/// ([`Network::fit`] from its state, on its rows), to the same bits. The
/// result per member is its report, or [`Error::Diverged`] for a member
/// whose loss diverged (rolled back as a lone run is); the others go on.
/// An error before any member trains when the list is empty, a member
/// cannot share the data (another input or output width), its rows are
/// out of range, its settings would fail alone, or the sweep does not
/// fit the machine's memory or the GPU's limits.
///
/// On the GPU, members that fit one workgroup train together in the same
/// dispatches, larger members of one shape stacked, each kernel covering
/// them all ([`gpu_placements`]); the others one after another. On the
/// CPU, members train in parallel over the cores.
pub fn train_members(
    device: &Device,
    inputs: &Matrix,
    targets: &Matrix,
    members: &mut [Member],
    observer: &dyn SweepObserver,
) -> Result<Vec<Result<TrainReport>>> {
    match device.gpu_context() {
        None => train_on_cpu(inputs, targets, members, observer),
        #[cfg(not(target_arch = "wasm32"))]
        Some(_) => pollster::block_on(train_members_async(
            device, inputs, targets, members, observer,
        )),
        #[cfg(target_arch = "wasm32")]
        Some(_) => Err(Error::Gpu(
            "a browser cannot wait for the GPU: use sweep::train_members_async".into(),
        )),
    }
}

/// How a member of a sweep trains on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuPlacement {
    /// In one workgroup of train_small.wgsl, with every other such member
    /// in the same dispatches.
    OneWorkgroup,
    /// Stacked with members of the same shape (`size` of them, stack
    /// number `stack`): each kernel of a step covers them all in one
    /// dispatch.
    Stacked { stack: usize, size: usize },
    /// Alone, as its own resident run.
    Alone,
}

impl GpuPlacement {
    /// How many stacks `placements` make (stacks are numbered from 0).
    pub fn stacks(placements: &[GpuPlacement]) -> usize {
        placements
            .iter()
            .filter_map(|p| match p {
                GpuPlacement::Stacked { stack, .. } => Some(stack + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

/// How each of `members` would train on `device`'s GPU (checked as
/// [`train_members`] checks them); `None` on the CPU path.
pub fn gpu_placements(
    device: &Device,
    inputs: &Matrix,
    targets: &Matrix,
    members: &[Member],
) -> Result<Option<Vec<GpuPlacement>>> {
    let Some(ctx) = device.gpu_context() else {
        return Ok(None);
    };
    let checked = check_members(inputs, targets, members)?;
    Ok(Some(place(ctx, members, &checked)))
}

/// One workgroup each where they fit; else stacks of members with equal
/// [`StackKey`]s (up to `Resident::stack_limit` each); a shape of one
/// member alone.
fn place(ctx: &GpuContext, members: &[Member], checked: &[Checked]) -> Vec<GpuPlacement> {
    let mut stacks: Vec<(StackKey, usize, Vec<usize>)> = Vec::new();
    let mut placements = Vec::with_capacity(members.len());
    for (i, (m, (config, train, validation))) in members.iter().zip(checked).enumerate() {
        if Members::fits(ctx, &m.network, config.batch_rows(train.len()), config) {
            placements.push(GpuPlacement::OneWorkgroup);
            continue;
        }
        placements.push(GpuPlacement::Alone);
        let key = StackKey::of(
            &m.network,
            config,
            train.len(),
            validation.as_ref().map(Vec::len),
        );
        let validating = validation.as_ref().map(Vec::len);
        let limit = Resident::stack_limit(ctx, &m.network, config, train.len(), validating);
        match stacks
            .iter_mut()
            .find(|(k, limit, group)| *k == key && group.len() < *limit)
        {
            Some((_, _, group)) => group.push(i),
            None => stacks.push((key, limit, vec![i])),
        }
    }
    let stacked = stacks
        .into_iter()
        .map(|(_, _, g)| g)
        .filter(|g| g.len() > 1);
    for (stack, group) in stacked.enumerate() {
        for &i in &group {
            placements[i] = GpuPlacement::Stacked {
                stack,
                size: group.len(),
            };
        }
    }
    placements
}

/// [`train_members`] as a future (for the browser, whose GPU cannot be
/// waited for). On the CPU path members train one after another there.
pub async fn train_members_async(
    device: &Device,
    inputs: &Matrix,
    targets: &Matrix,
    members: &mut [Member],
    observer: &dyn SweepObserver,
) -> Result<Vec<Result<TrainReport>>> {
    let Some(ctx) = device.gpu_context() else {
        return train_on_cpu(inputs, targets, members, observer);
    };
    let checked = check_members(inputs, targets, members)?;
    let placements = place(ctx, members, &checked);
    let mut reports: Vec<Option<Result<TrainReport>>> = members.iter().map(|_| None).collect();
    // Each group trains together: the one-workgroup members, then each
    // stack; the rest one after another.
    let stacks = GpuPlacement::stacks(&placements);
    // Group 0 the one-workgroup members, group 1 + s stack s.
    let mut groups: Vec<Vec<Alone>> = (0..=stacks).map(|_| Vec::new()).collect();
    let mut alone = Vec::new();
    for (i, ((m, (config, train, validation)), placement)) in
        members.iter_mut().zip(checked).zip(&placements).enumerate()
    {
        let member = (i, m, config, train, validation);
        match *placement {
            GpuPlacement::OneWorkgroup => groups[0].push(member),
            GpuPlacement::Stacked { stack, .. } => groups[stack + 1].push(member),
            GpuPlacement::Alone => alone.push(member),
        }
    }
    // The data set, uploaded once for every group (dropped before the
    // gate, which GL needs held while its buffers go).
    let gate = ctx.gate();
    let data = match groups.iter().any(|g| !g.is_empty()) {
        true => Some([
            ctx.storage_from("the sweep's inputs", inputs.as_slice())?,
            ctx.storage_from("the sweep's targets", targets.as_slice())?,
        ]),
        false => None,
    };
    for (g, group) in groups.into_iter().enumerate() {
        let (Some(data), false) = (&data, group.is_empty()) else {
            continue;
        };
        let kind = match g {
            0 => lockstep::Kind::Small,
            _ => lockstep::Kind::Stacked,
        };
        let mut indices = Vec::new();
        let mut runnables = Vec::new();
        for (i, m, config, train, validation) in group {
            indices.push(i);
            runnables.push(lockstep::Runnable {
                network: &mut m.network,
                state: &mut m.state,
                config,
                train_rows: train,
                validation_rows: validation,
                observer: Box::new(Watch {
                    member: i,
                    sweep: observer,
                }),
            });
        }
        // Each group's times count from its own start.
        let start = Instant::now();
        let done =
            lockstep::train_together(ctx, inputs, targets, data, &mut runnables, kind, start)
                .await?;
        for (i, report) in indices.into_iter().zip(done) {
            observer.done(i, &report);
            reports[i] = Some(report);
        }
    }
    // The lone runs upload their own rows: the shared copy goes first.
    drop(data);
    drop(gate);
    for (i, m, config, train, validation) in alone {
        let report = fit_alone(
            device, inputs, targets, i, m, &config, &train, validation, observer,
        )
        .await?;
        observer.done(i, &report);
        reports[i] = Some(report);
    }
    finish(reports)
}

/// A member's number, itself, its settings, training and validation rows.
type Alone<'m> = (
    usize,
    &'m mut Member,
    TrainConfig,
    Vec<u32>,
    Option<Vec<u32>>,
);

/// A member's training rows (the data itself when it trains on all of
/// them in order) and validation rows, as matrices.
type RowsOf<'d> = (Cow<'d, Matrix>, Cow<'d, Matrix>, Option<(Matrix, Matrix)>);

fn member_rows<'d>(
    inputs: &'d Matrix,
    targets: &'d Matrix,
    m: &Member,
    train: &[u32],
    validation: Option<&[u32]>,
) -> Result<RowsOf<'d>> {
    let (x, y) = match m.train_rows {
        None => (Cow::Borrowed(inputs), Cow::Borrowed(targets)),
        Some(_) => (
            Cow::Owned(take(inputs, train)?),
            Cow::Owned(take(targets, train)?),
        ),
    };
    let val = match validation {
        Some(v) => Some((take(inputs, v)?, take(targets, v)?)),
        None => None,
    };
    Ok((x, y, val))
}

/// A lone run's result as a sweep keeps it: the member's own divergence
/// inside, any other error (named after the member) outside.
fn own_result(i: usize, net: &Network, report: Result<TrainReport>) -> Result<Result<TrainReport>> {
    match report {
        Ok(r) => Ok(Ok(r)),
        Err(e @ Error::Diverged { .. }) => Ok(Err(e)),
        Err(e) => Err(of_member(i, net, e)),
    }
}

/// Member `m` (number `i`) trained alone on `device`, on rows `train` and
/// `validation`.
#[allow(clippy::too_many_arguments)]
async fn fit_alone(
    device: &Device,
    inputs: &Matrix,
    targets: &Matrix,
    i: usize,
    m: &mut Member,
    config: &TrainConfig,
    train: &[u32],
    validation: Option<Vec<u32>>,
    observer: &dyn SweepObserver,
) -> Result<Result<TrainReport>> {
    let (x, y, val) = member_rows(inputs, targets, m, train, validation.as_deref())?;
    let mut watch = Watch {
        member: i,
        sweep: observer,
    };
    let report = m
        .network
        .fit_async(
            device,
            (&x, &y),
            val.as_ref().map(|(x, y)| (x, y)),
            config,
            &mut m.state,
            &mut watch,
        )
        .await;
    own_result(i, &m.network, report)
}

/// Every member's report, once all trained.
fn finish(reports: Vec<Option<Result<TrainReport>>>) -> Result<Vec<Result<TrainReport>>> {
    reports
        .into_iter()
        .map(|r| match r.expect("every member trained") {
            Err(e @ Error::Diverged { .. }) => Ok(Err(e)),
            Err(e) => Err(e),
            Ok(r) => Ok(Ok(r)),
        })
        .collect()
}

/// The CPU path: members in parallel over the cores (one after another
/// in a browser, which has one thread).
fn train_on_cpu(
    inputs: &Matrix,
    targets: &Matrix,
    members: &mut [Member],
    observer: &dyn SweepObserver,
) -> Result<Vec<Result<TrainReport>>> {
    let checked = check_members(inputs, targets, members)?;
    let device = Device::cpu("asked for");
    let run = |(i, (m, (config, train, validation))): (usize, (&mut Member, Checked))|
     -> Result<Result<TrainReport>> {
        let (x, y, val) = member_rows(inputs, targets, m, &train, validation.as_deref())?;
        let mut watch = Watch {
            member: i,
            sweep: observer,
        };
        let report = m.network.fit(
            &device,
            (&x, &y),
            val.as_ref().map(|(x, y)| (x, y)),
            &config,
            &mut m.state,
            &mut watch,
        );
        let report = own_result(i, &m.network, report)?;
        observer.done(i, &report);
        Ok(report)
    };
    // One worker per thread of the current rayon pool, each taking the
    // next member and training it inside a pool of one thread: a member's
    // own rayon work (gemm, element-wise passes) then runs on its worker
    // instead of waiting on the other workers' members, which in one
    // shared pool left the cores idle (no faster than one after another).
    #[cfg(not(target_arch = "wasm32"))]
    let reports: Vec<Result<Result<TrainReport>>> = {
        use std::sync::Mutex;
        let count = members.len();
        let workers = rayon::current_num_threads().clamp(1, count.max(1));
        let work = Mutex::new(members.iter_mut().zip(checked).enumerate());
        let done: Vec<Mutex<Option<Result<Result<TrainReport>>>>> =
            (0..count).map(|_| Mutex::new(None)).collect();
        let worker = || -> Result<()> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .map_err(|e| Error::Config(format!("a sweep thread did not start ({e})")))?;
            loop {
                let next = work.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, item)) = next else {
                    return Ok(());
                };
                let report = pool.install(|| run((i, item)));
                *done[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
            }
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Config("a sweep thread panicked".into())))
                })
                .collect::<Result<Vec<()>>>()
        })?;
        done.into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(Error::Config("a sweep member was not trained".into())))
            })
            .collect()
    };
    #[cfg(target_arch = "wasm32")]
    let reports: Vec<Result<Result<TrainReport>>> = members
        .iter_mut()
        .zip(checked)
        .enumerate()
        .map(run)
        .collect();
    reports.into_iter().collect()
}
