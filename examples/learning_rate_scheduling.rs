//! Learning-rate scheduling: power (InverseTimeDecay), exponential, piecewise constant,
//! performance (ReduceLROnPlateau) and 1cycle, with the rate curves and the learning curves
//! saved as SVG images under `target/lr_scheduling/`.
//!
//! Run: `cargo run --release --example learning_rate_scheduling`

mod common;

use strata::optim::LearningRate;
use strata::prelude::*;

const EPOCHS: usize = 5;
const BATCH: usize = 32;

fn model() -> Result<Sequential, ModelError> {
    let mut m = Sequential::with_seed(&[28, 28], 42);
    m.add(Flatten::new())?;
    m.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    m.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    m.add(Dense::new(10).activation("softmax"))?;
    Ok(m)
}

fn main() -> Result<(), ModelError> {
    let (train_full, _) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);
    let out = std::path::Path::new("target").join("lr_scheduling");
    std::fs::create_dir_all(&out).map_err(|e| ModelError::Io {
        path: out.clone(),
        source: e,
    })?;
    let steps_per_epoch = train.len().div_ceil(BATCH) as u64;
    let total = steps_per_epoch * EPOCHS as u64;
    let sparse = || "sparse_categorical_crossentropy".parse::<Loss>();
    let mut curves: Vec<(String, Vec<f32>)> = Vec::new();
    let mut rates: Vec<(String, Vec<f32>)> = Vec::new();

    // Schedules evaluated per step: their rate per step is known in advance.
    let per_step: Vec<(&str, LearningRate)> = vec![
        (
            "power (InverseTimeDecay)",
            InverseTimeDecay::new(0.01, steps_per_epoch, 1.0).into(),
        ),
        (
            "piecewise constant",
            PiecewiseConstantDecay::new(
                vec![2 * steps_per_epoch, 4 * steps_per_epoch],
                vec![0.01, 0.005, 0.001],
            )
            .unwrap()
            .into(),
        ),
    ];
    for (name, schedule) in per_step {
        let mut m = model()?;
        m.compile(
            Sgd::new(schedule.clone()).momentum(0.9),
            sparse()?,
            &[Metric::Accuracy],
        )?;
        let h = m.fit(
            &train,
            FitOptions::epochs(EPOCHS)
                .validation_data(&valid)
                .verbose(0),
        )?;
        report(name, &h);
        curves.push((name.to_string(), h.get("val_loss").unwrap().to_vec()));
        rates.push((
            name.to_string(),
            (0..total).step_by(10).map(|s| schedule.at(s)).collect(),
        ));
    }

    // Exponential, as the seed's per-epoch function.
    let mut m = model()?;
    m.compile(Sgd::new(0.01).momentum(0.9), sparse()?, &[Metric::Accuracy])?;
    let mut exponential =
        LearningRateScheduler::new(|epoch, _| 0.01 * 0.1f64.powf(epoch as f64 / 20.0));
    let h = m.fit(
        &train,
        FitOptions::epochs(EPOCHS)
            .validation_data(&valid)
            .verbose(0)
            .callback(&mut exponential),
    )?;
    report("exponential (per epoch)", &h);
    curves.push(("exponential".into(), h.get("val_loss").unwrap().to_vec()));
    rates.push((
        "exponential".into(),
        expand(h.get("learning_rate").unwrap(), steps_per_epoch, total),
    ));

    // Performance scheduling.
    let mut m = model()?;
    m.compile(Sgd::new(0.01).momentum(0.9), sparse()?, &[Metric::Accuracy])?;
    let mut plateau = ReduceLROnPlateau::new().factor(0.5).patience(1);
    let h = m.fit(
        &train,
        FitOptions::epochs(EPOCHS)
            .validation_data(&valid)
            .verbose(0)
            .callback(&mut plateau),
    )?;
    report("performance (ReduceLROnPlateau)", &h);
    curves.push(("performance".into(), h.get("val_loss").unwrap().to_vec()));
    rates.push((
        "performance".into(),
        expand(h.get("learning_rate").unwrap(), steps_per_epoch, total),
    ));

    // 1cycle.
    let mut m = model()?;
    m.compile(Sgd::new(0.01).momentum(0.9), sparse()?, &[Metric::Accuracy])?;
    let mut one_cycle = OneCycleScheduler::new(total, 0.05);
    let h = m.fit(
        &train,
        FitOptions::epochs(EPOCHS)
            .validation_data(&valid)
            .verbose(0)
            .callback(&mut one_cycle),
    )?;
    report("1cycle", &h);
    curves.push(("1cycle".into(), h.get("val_loss").unwrap().to_vec()));
    let schedule = LearningRate::from(OneCycle::new(total, 0.05));
    rates.push((
        "1cycle".into(),
        (0..total).step_by(10).map(|s| schedule.at(s)).collect(),
    ));

    let curve_refs: Vec<(&str, &[f32])> = curves
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    plot_series(
        out.join("val_loss.svg"),
        "Validation loss per schedule",
        "epoch",
        &curve_refs,
    )?;
    let rate_refs: Vec<(&str, &[f32])> = rates
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    plot_series(
        out.join("learning_rates.svg"),
        "Learning rate per schedule",
        "step / 10",
        &rate_refs,
    )?;
    println!(
        "charts: {}/val_loss.svg and learning_rates.svg",
        out.display()
    );
    Ok(())
}

use strata::plot_series;

fn report(name: &str, h: &History) {
    println!(
        "{name:<34} loss {:.4}  val_accuracy {:.4}",
        h.get("loss").unwrap().last().unwrap(),
        h.get("val_accuracy").unwrap().last().unwrap()
    );
}

/// Per-epoch rates as a per-step curve sampled every 10 steps.
fn expand(per_epoch: &[f32], steps_per_epoch: u64, total: u64) -> Vec<f32> {
    (0..total)
        .step_by(10)
        .map(|s| per_epoch[((s / steps_per_epoch) as usize).min(per_epoch.len() - 1)])
        .collect()
}
