//! Weight initialization: He, Glorot and LeCun, and `VarianceScaling(scale=2, mode="fan_avg",
//! distribution="uniform")`, with the measured statistics of a 784×300 kernel next to the
//! expected ones.
//!
//! Run: `cargo run --release --example initialization`

use rand::{SeedableRng, rngs::StdRng};
use strata::layers::{Distribution, FanMode};
use strata::prelude::*;

fn main() -> Result<(), ModelError> {
    let shape = [784, 300];
    let (fan_in, fan_out) = (784.0f64, 300.0f64);
    let cases: Vec<(&str, Initializer)> = vec![
        ("glorot_uniform (Dense default)", "glorot_uniform".parse()?),
        ("glorot_normal", "glorot_normal".parse()?),
        ("he_normal", "he_normal".parse()?),
        ("he_uniform", "he_uniform".parse()?),
        ("lecun_normal", "lecun_normal".parse()?),
        ("lecun_uniform", "lecun_uniform".parse()?),
        (
            "VarianceScaling(2, fan_avg, uniform)",
            Initializer::variance_scaling(2.0, "fan_avg", "uniform")?,
        ),
    ];
    let mut rng = StdRng::seed_from_u64(42);
    println!(
        "{:<38} {:>12} {:>12} {:>12} {:>12}",
        "initializer (784×300 kernel)", "std", "expected", "max |w|", "bound"
    );
    for (name, init) in cases {
        let w = init.sample(&shape, &mut rng);
        let n = w.len() as f64;
        let mean = w.as_slice().iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (w
            .as_slice()
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let max = w.as_slice().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        } = init
        else {
            unreachable!("all presets are VarianceScaling")
        };
        let fan = match mode {
            FanMode::FanIn => fan_in,
            FanMode::FanOut => fan_out,
            FanMode::FanAvg => (fan_in + fan_out) / 2.0,
        };
        let expected_std = (scale as f64 / fan).sqrt();
        let bound = match distribution {
            Distribution::Uniform => format!("{:.6}", (3.0 * scale as f64 / fan).sqrt()),
            Distribution::TruncatedNormal => {
                format!("{:.6}", 2.0 * expected_std / 0.879_625_661_034_239_8)
            }
            Distribution::UntruncatedNormal => "none".into(),
        };
        println!("{name:<38} {std:>12.6} {expected_std:>12.6} {max:>12.6} {bound:>12}");
    }
    println!(
        "\nIn a model: Dense::new(300).activation(\"relu\").kernel_initializer(\"he_normal\")"
    );
    let mut model = Sequential::with_seed(&[28, 28], 42);
    model.add(Flatten::new())?;
    model.add(
        Dense::new(300)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    model.add(
        Dense::new(10)
            .kernel_initializer(Initializer::variance_scaling(2.0, "fan_avg", "uniform")?),
    )?;
    println!("{}", model.summary());
    Ok(())
}
