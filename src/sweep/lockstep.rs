//! Members on the GPU in lock step. Each member runs the one training
//! driver (`crate::driver`) exactly as it would alone, through a runner
//! that does what the resident GPU run does, except that it hands its work
//! (training steps, loss chunks, validation, read-backs) to a round instead
//! of submitting it; a round then runs every member's work in the same
//! dispatches and answers each. Two kinds of rounds ([`Together`]): small
//! members, one workgroup each in train_small.wgsl (`gpu::Members`), and
//! larger members of one shape, whose every kernel covers them all
//! (`gpu::Resident::stacked`). The drivers are futures polled in turn: each
//! runs until it waits on its round, and the rounds go on until every
//! driver has finished. The resident run's sums are reproduced to the bit,
//! so a member ends where it would alone.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use web_time::Instant;

use crate::config::TrainConfig;
use crate::driver::{self, Observer, TrainReport};
use crate::error::{Error, Result};
use crate::gpu::{Done, GpuContext, MemberSpec, Members, Resident, Work};
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::OptimizerState;
use crate::plan::{PlannedStep, Runner, StepPlan, Validated};

/// What a member waits on.
enum Ask {
    Train(Vec<PlannedStep>),
    TrainingLoss,
    Validation,
    /// Its parameters and state, read back.
    Read,
}

enum Answer {
    Done(Done),
    Values(Vec<f32>),
}

/// The asks of the members still running, and the answers of the last
/// round not yet taken.
#[derive(Default)]
struct Round {
    next: u64,
    asks: Vec<(u64, usize, Ask)>,
    answers: HashMap<u64, Answer>,
}

/// Members' buffers and kernels that run rounds of their work.
pub(crate) trait Together {
    /// Steps a [`Work::Train`] may hold.
    fn capacity(&self) -> usize;
    /// Epochs a [`Work::Train`] of member `m` may span (0: file order).
    fn epoch_slots(&self, m: usize) -> usize;
    /// The steps per submit of member `m`'s lone resident run: the
    /// grouping of its loss sums when they are added up in f64.
    fn per_submit(&self, m: usize) -> usize;
    fn load(&self, m: usize, layers: &[Layer], state: &OptimizerState) -> Result<()>;
    fn copy_best(&self, m: usize, to_best: bool);
    /// Every job of a round, at most one per member; each one's results.
    async fn run(&self, jobs: &[(usize, Work<'_>)]) -> Result<Vec<Done>>;
    /// The parameter values of the members `which`.
    async fn read(&self, which: &[usize]) -> Result<Vec<Vec<f32>>>;
    fn unpack(&self, m: usize, values: &[f32], layers: &mut [Layer], state: &mut OptimizerState);
}

impl Together for Members<'_> {
    fn capacity(&self) -> usize {
        Members::capacity(self)
    }
    fn epoch_slots(&self, m: usize) -> usize {
        Members::epoch_slots(self, m)
    }
    fn per_submit(&self, m: usize) -> usize {
        Members::per_submit(self, m)
    }
    fn load(&self, m: usize, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        Members::load(self, m, layers, state)
    }
    fn copy_best(&self, m: usize, to_best: bool) {
        Members::copy_best(self, m, to_best)
    }
    async fn run(&self, jobs: &[(usize, Work<'_>)]) -> Result<Vec<Done>> {
        Members::run(self, jobs).await
    }
    async fn read(&self, which: &[usize]) -> Result<Vec<Vec<f32>>> {
        Members::read(self, which).await
    }
    fn unpack(&self, m: usize, values: &[f32], layers: &mut [Layer], state: &mut OptimizerState) {
        Members::unpack(self, m, values, layers, state)
    }
}

impl Together for Resident<'_> {
    fn capacity(&self) -> usize {
        Resident::capacity(self)
    }
    fn epoch_slots(&self, _: usize) -> usize {
        Resident::epoch_slots(self)
    }
    fn per_submit(&self, _: usize) -> usize {
        Resident::per_submit(self)
    }
    fn load(&self, m: usize, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        self.load_member(m, layers, state)
    }
    fn copy_best(&self, m: usize, to_best: bool) {
        self.copy_parameters(m, to_best)
    }
    async fn run(&self, jobs: &[(usize, Work<'_>)]) -> Result<Vec<Done>> {
        Resident::run(self, jobs).await
    }
    async fn read(&self, which: &[usize]) -> Result<Vec<Vec<f32>>> {
        self.read_members(which).await
    }
    fn unpack(&self, _: usize, values: &[f32], layers: &mut [Layer], state: &mut OptimizerState) {
        self.unpack_member(values, layers, state)
    }
}

struct Shared<'m, T> {
    members: &'m T,
    round: RefCell<Round>,
}

impl<T> Shared<'_, T> {
    /// Ask for `ask` on behalf of member `m`: ready once a round answered.
    fn ask(&self, m: usize, ask: Ask) -> impl Future<Output = Answer> + '_ {
        let id = {
            let mut round = self.round.borrow_mut();
            let id = round.next;
            round.next += 1;
            round.asks.push((id, m, ask));
            id
        };
        poll_fn(move |_| match self.round.borrow_mut().answers.remove(&id) {
            Some(answer) => Poll::Ready(answer),
            None => Poll::Pending,
        })
    }

    async fn work(&self, m: usize, ask: Ask) -> Done {
        match self.ask(m, ask).await {
            Answer::Done(done) => done,
            Answer::Values(_) => unreachable!("work is answered by its results"),
        }
    }
}

/// One member's runner: the resident run's steps, sums and groupings,
/// its work done in rounds.
struct Lockstep<'s, 'm, T> {
    shared: &'s Shared<'m, T>,
    member: usize,
    rows: usize,
    validation_rows: usize,
    outputs: usize,
}

impl<T: Together> Lockstep<'_, '_, T> {
    /// The mean of per-chunk loss sums over `rows`, added up as the
    /// resident run adds them: in f64, a submit's worth at a time.
    fn mean(&self, sums: &[f32], rows: usize) -> f64 {
        let per_submit = self.shared.members.per_submit(self.member);
        crate::gpu::grouped_sum(sums, per_submit) / rows as f64
    }
}

impl<T: Together> Runner for Lockstep<'_, '_, T> {
    fn trains_in_place(&self) -> bool {
        false
    }

    async fn train(
        &mut self,
        _: &mut [Layer],
        _: &mut OptimizerState,
        plan: &StepPlan,
        steps: Range<u64>,
        seen: &mut dyn FnMut(&PlannedStep, f64) -> bool,
    ) -> Result<()> {
        let members = self.shared.members;
        let (capacity, slots) = (members.capacity(), members.epoch_slots(self.member) as u64);
        let mut next = steps.start;
        while next < steps.end {
            let first = plan.step(next);
            let mut chunk = vec![first];
            next += 1;
            while next < steps.end && chunk.len() < capacity {
                let s = plan.step(next);
                if slots > 0 && s.epoch - first.epoch >= slots {
                    break;
                }
                chunk.push(s);
                next += 1;
            }
            let done = self
                .shared
                .work(self.member, Ask::Train(chunk.clone()))
                .await;
            for (s, sum) in chunk.iter().zip(done.sums) {
                if !seen(s, sum as f64) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    async fn mean_loss(&mut self, _: &[Layer]) -> Result<f64> {
        let done = self.shared.work(self.member, Ask::TrainingLoss).await;
        Ok(self.mean(&done.sums, self.rows))
    }

    async fn load(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        self.shared.members.load(self.member, layers, state)
    }

    async fn store(&mut self, layers: &mut [Layer], state: &mut OptimizerState) -> Result<()> {
        let Answer::Values(values) = self.shared.ask(self.member, Ask::Read).await else {
            unreachable!("a read is answered by values")
        };
        self.shared
            .members
            .unpack(self.member, &values, layers, state);
        Ok(())
    }

    async fn evaluate(&mut self, _: &[Layer]) -> Result<Validated> {
        if self.validation_rows == 0 {
            return Err(Error::Config(
                "a sweep member without validation rows was asked to validate".into(),
            ));
        }
        let done = self.shared.work(self.member, Ask::Validation).await;
        Ok(Validated {
            loss: self.mean(&done.sums, self.validation_rows),
            predictions: Matrix::new(self.validation_rows, self.outputs, done.predictions)?,
        })
    }

    async fn keep_best(&mut self, _: &[Layer], _: &OptimizerState) -> Result<()> {
        self.shared.members.copy_best(self.member, true);
        Ok(())
    }

    async fn restore_best(&mut self, _: &mut [Layer], _: &mut OptimizerState) -> Result<()> {
        self.shared.members.copy_best(self.member, false);
        Ok(())
    }
}

/// One member as the lock step trains it, in place: its network and
/// optimizer state, settings made for the network (checked), rows, and
/// observer.
pub(crate) struct Runnable<'a> {
    pub network: &'a mut Network,
    pub state: &'a mut OptimizerState,
    pub config: TrainConfig,
    pub train_rows: Vec<u32>,
    pub validation_rows: Option<Vec<u32>>,
    pub observer: Box<dyn Observer + 'a>,
}

type Driver<'f> = Pin<Box<dyn Future<Output = Result<TrainReport>> + 'f>>;

/// How members train together: one workgroup each, or stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Each fits one workgroup (`Members::fits`).
    Small,
    /// All of one `StackKey`.
    Stacked,
}

/// Train `runnables` on `x`, `y` (on the GPU as `data`) together, as
/// `kind` says; each member's report, or its own error (a member that
/// diverges stops alone). An error of the GPU itself ends them all.
pub(crate) async fn train_together(
    ctx: &GpuContext,
    x: &Matrix,
    y: &Matrix,
    data: &[wgpu::Buffer; 2],
    runnables: &mut [Runnable<'_>],
    kind: Kind,
    start: Instant,
) -> Result<Vec<Result<TrainReport>>> {
    let specs: Vec<MemberSpec> = runnables
        .iter()
        .map(|r| MemberSpec {
            net: r.network,
            config: &r.config,
            state: r.state,
            train_rows: &r.train_rows,
            validation_rows: r.validation_rows.as_deref(),
        })
        .collect();
    let outputs = y.cols();
    match kind {
        Kind::Small => {
            let members = Members::new(ctx, y, data, &specs)?;
            drop(specs);
            drive(&members, runnables, outputs, start).await
        }
        Kind::Stacked => {
            let members = Resident::stacked(ctx, x, y, data, &specs)?;
            drop(specs);
            drive(&members, runnables, outputs, start).await
        }
    }
}

/// Each runnable's driver, polled in turn, its work run in rounds by
/// `members`.
async fn drive<T: Together>(
    members: &T,
    runnables: &mut [Runnable<'_>],
    outputs: usize,
    start: Instant,
) -> Result<Vec<Result<TrainReport>>> {
    let shared = Shared {
        members,
        round: RefCell::new(Round::default()),
    };
    let mut drivers: Vec<Option<Driver>> = runnables
        .iter_mut()
        .enumerate()
        .map(|(m, r)| {
            let shared = &shared;
            let driver: Driver = Box::pin(async move {
                let mut runner = Lockstep {
                    shared,
                    member: m,
                    rows: r.train_rows.len(),
                    validation_rows: r.validation_rows.as_ref().map_or(0, Vec::len),
                    outputs,
                };
                let validating = r.validation_rows.is_some();
                driver::run(
                    &mut runner,
                    r.network,
                    r.train_rows.len(),
                    validating,
                    &r.config,
                    r.state,
                    r.observer.as_mut(),
                    start,
                )
                .await
            });
            Some(driver)
        })
        .collect();
    let mut reports: Vec<Option<Result<TrainReport>>> = drivers.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let mut running = 0;
        for (slot, report) in drivers.iter_mut().zip(&mut reports) {
            let Some(driver) = slot else { continue };
            match driver.as_mut().poll(&mut cx) {
                Poll::Ready(r) => {
                    *report = Some(r);
                    *slot = None;
                }
                Poll::Pending => running += 1,
            }
        }
        if running == 0 {
            break;
        }
        let asks = std::mem::take(&mut shared.round.borrow_mut().asks);
        if asks.is_empty() {
            return Err(Error::Gpu(
                "sweep members are waiting, but on nothing (a bug in neurona's lock step)".into(),
            ));
        }
        let mut ids = Vec::new();
        let mut jobs: Vec<(usize, Work)> = Vec::new();
        let mut reads = Vec::new();
        for (id, m, ask) in &asks {
            let work = match ask {
                Ask::Train(steps) => Work::Train(steps),
                Ask::TrainingLoss => Work::TrainingLoss,
                Ask::Validation => Work::Validation,
                Ask::Read => {
                    reads.push((*id, *m));
                    continue;
                }
            };
            ids.push(*id);
            jobs.push((*m, work));
        }
        let done = match jobs.is_empty() {
            true => Vec::new(),
            false => members.run(&jobs).await?,
        };
        let which: Vec<usize> = reads.iter().map(|(_, m)| *m).collect();
        let values = match which.is_empty() {
            true => Vec::new(),
            false => members.read(&which).await?,
        };
        let mut round = shared.round.borrow_mut();
        for (id, d) in ids.iter().zip(done) {
            round.answers.insert(*id, Answer::Done(d));
        }
        for ((id, _), v) in reads.iter().zip(values) {
            round.answers.insert(*id, Answer::Values(v));
        }
    }
    drop(drivers);
    Ok(reports
        .into_iter()
        .map(|r| r.expect("every driver finished"))
        .collect())
}
