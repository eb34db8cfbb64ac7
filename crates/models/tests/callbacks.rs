//! Each callback's behaviour, driven through `fit` on tiny data.

mod common;

use common::{blobs, small_model, temp_path};
use strata::prelude::*;

/// A callback that feeds a scripted `val_loss` to the callbacks after it.
struct Script(Vec<f32>);
impl Callback for Script {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _: &mut Sequential,
    ) -> Result<(), ModelError> {
        logs.insert("val_loss", self.0[epoch.min(self.0.len() - 1)]);
        Ok(())
    }
}

fn compiled(seed: u64, lr: f32) -> Sequential {
    let mut m = small_model(seed);
    m.compile(
        Sgd::new(lr),
        "sparse_categorical_crossentropy".parse().unwrap(),
        &[Metric::Accuracy],
    )
    .unwrap();
    m
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_weights() {
    let data = blobs(30, 1);
    let mut model = compiled(1, 0.05);
    let mut script = Script(vec![1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
    let mut weights_at = Vec::new();
    struct Snap<'a>(&'a mut Vec<Vec<Tensor>>);
    impl Callback for Snap<'_> {
        fn on_epoch_end(
            &mut self,
            _: usize,
            _: &mut Logs,
            m: &mut Sequential,
        ) -> Result<(), ModelError> {
            self.0.push(m.get_weights());
            Ok(())
        }
    }
    let mut snap = Snap(&mut weights_at);
    let mut stop = EarlyStopping::new().patience(2).restore_best_weights(true);
    let history = model
        .fit(
            &data,
            FitOptions::epochs(7)
                .verbose(0)
                .callback(&mut script)
                .callback(&mut snap)
                .callback(&mut stop),
        )
        .unwrap();
    assert_eq!(history.epochs, vec![0, 1, 2, 3]);
    assert_eq!(stop.stopped_epoch, Some(3));
    assert_eq!(stop.best_epoch(), 1);
    assert_eq!(
        model.get_weights(),
        weights_at[1],
        "restored the weights of the best epoch"
    );
}

#[test]
fn reduce_lr_on_plateau_halves_the_rate_after_patience() {
    let data = blobs(30, 2);
    let mut model = compiled(2, 0.1);
    let mut script = Script(vec![1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]);
    let mut plateau = ReduceLROnPlateau::new().factor(0.5).patience(2);
    let history = model
        .fit(
            &data,
            FitOptions::epochs(7)
                .verbose(0)
                .callback(&mut script)
                .callback(&mut plateau),
        )
        .unwrap();
    // Recorded before each epoch-end decision, as Keras does.
    assert_eq!(
        history.get("learning_rate").unwrap(),
        &[0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]
    );
    assert_eq!(model.optimizer().unwrap().learning_rate(), 0.025);
}

#[test]
fn model_checkpoint_keeps_the_best_and_never_saves_a_nan_model() {
    let data = blobs(30, 3);
    let path = temp_path("best.strata");
    let _ = std::fs::remove_file(&path);
    let mut model = compiled(3, 0.05);
    let mut script = Script(vec![1.0, 0.5, 0.7, 0.4]);
    let mut checkpoint = ModelCheckpoint::new(&path).save_best_only(true);
    model
        .fit(
            &data,
            FitOptions::epochs(4)
                .verbose(0)
                .callback(&mut script)
                .callback(&mut checkpoint),
        )
        .unwrap();
    assert_eq!(checkpoint.saved_epochs, vec![0, 1, 3]);
    let good = std::fs::read(&path).unwrap();
    // Diverge: an enormous learning rate makes the loss NaN; the file must stay as it was.
    let mut diverging = compiled(3, 1e30);
    let mut always = ModelCheckpoint::new(&path);
    let mut nan_guard = TerminateOnNaN::new();
    let big = blobs(300, 8);
    diverging
        .fit(
            &big,
            FitOptions::epochs(3)
                .verbose(0)
                .callback(&mut nan_guard)
                .callback(&mut always),
        )
        .unwrap();
    assert!(nan_guard.terminated);
    assert!(always.saved_epochs.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), good);
    Sequential::load(&path).unwrap();
}

#[test]
fn terminate_on_nan_stops_within_the_epoch() {
    let data = blobs(300, 4);
    let mut model = compiled(4, 1e30);
    let mut guard = TerminateOnNaN::new();
    let history = model
        .fit(&data, FitOptions::epochs(5).verbose(0).callback(&mut guard))
        .unwrap();
    assert!(guard.terminated);
    assert_eq!(history.epochs.len(), 1);
}

#[test]
fn csv_logger_writes_a_header_and_one_row_per_epoch() {
    let data = blobs(30, 5);
    let path = temp_path("log.csv");
    let mut model = compiled(5, 0.05);
    let mut logger = CsvLogger::new(&path);
    model
        .fit(
            &data,
            FitOptions::epochs(3)
                .verbose(0)
                .validation_data(&data)
                .callback(&mut logger),
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("2,"));
}

#[test]
fn one_cycle_scheduler_sets_the_rate_every_step() {
    let data = blobs(64, 6);
    let mut model = compiled(6, 0.01);
    // 2 epochs of 2 steps: 4 iterations.
    let mut one_cycle = OneCycleScheduler::new(4, 0.1);
    let history = model
        .fit(
            &data,
            FitOptions::epochs(2)
                .batch_size(32)
                .verbose(0)
                .callback(&mut one_cycle),
        )
        .unwrap();
    let schedule = strata::optim::LearningRate::from(OneCycle::new(4, 0.1));
    assert_eq!(
        history.get("learning_rate").unwrap(),
        &[schedule.at(1), schedule.at(3)]
    );
}

#[test]
fn history_plots_are_written_as_svg() {
    let data = blobs(30, 7);
    let mut model = compiled(7, 0.05);
    let mut scheduler = LearningRateScheduler::new(|_, lr| lr * 0.9);
    let history = model
        .fit(
            &data,
            FitOptions::epochs(3)
                .verbose(0)
                .validation_data(&data)
                .callback(&mut scheduler),
        )
        .unwrap();
    let curves = temp_path("curves.svg");
    history.plot(&curves, "Learning curves").unwrap();
    let svg = std::fs::read_to_string(&curves).unwrap();
    assert!(
        svg.starts_with("<svg")
            && svg.contains("val_loss")
            && svg.matches("<polyline").count() == 4
    );
    let lr = temp_path("lr.svg");
    history.plot_learning_rate(&lr, "Learning rate").unwrap();
    assert!(
        std::fs::read_to_string(&lr)
            .unwrap()
            .contains("learning_rate")
    );
}

#[test]
fn a_nan_in_the_data_shows_as_a_nan_loss_through_relu_and_stops_training() {
    // ReLU must pass NaN on (Keras does): `max(x, 0)` in the usual library form returns 0 for
    // NaN, which hid the NaN here and let the weights turn NaN behind finite losses.
    let clean = blobs(64, 6);
    let mut x = clean.inputs_tensor();
    x.as_mut_slice()[5 * 6 + 2] = f32::NAN;
    let labels: Vec<u32> = (0..64).map(|i| (i % 3) as u32).collect();
    let data = Dataset::from_tensor(&x, labels).unwrap();
    let mut model = Sequential::with_seed(&[6], 6);
    model.add(Dense::new(16).activation("relu")).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
        .compile(
            Sgd::new(0.05),
            "sparse_categorical_crossentropy".parse().unwrap(),
            &[Metric::Accuracy],
        )
        .unwrap();
    let logs = model.evaluate(&data, 16).unwrap();
    assert!(logs.get("loss").unwrap().is_nan(), "{logs:?}");
    assert!(
        model
            .evaluate(&clean, 16)
            .unwrap()
            .get("loss")
            .unwrap()
            .is_finite()
    );
    let mut guard = TerminateOnNaN::new();
    let path = temp_path("nan-log.csv");
    let mut csv = CsvLogger::new(&path);
    let history = model
        .fit(
            &data,
            FitOptions::epochs(3)
                .batch_size(16)
                .shuffle(false)
                .verbose(0)
                .callback(&mut guard)
                .callback(&mut csv),
        )
        .unwrap();
    assert!(guard.terminated);
    assert_eq!(history.epochs.len(), 1);
    assert!(history.get("loss").unwrap()[0].is_nan());
    // Written as Python writes it (Keras's CSVLogger), which pandas and numpy read back.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.lines().nth(1).unwrap().ends_with(",nan"), "{text}");
}
