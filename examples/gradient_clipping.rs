//! Gradient clipping on a deep (10 hidden layers) network: no clipping, `clipvalue=1.0`,
//! `clipnorm=1.0` and `global_clipnorm=1.0`.
//!
//! Run: `cargo run --release --example gradient_clipping`

mod common;

use strata::optim::OptimizerConfig;
use strata::prelude::*;

fn main() -> Result<(), ModelError> {
    let (train_full, _) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);
    let configs: Vec<(&str, OptimizerConfig)> = vec![
        ("none", Sgd::new(0.05).momentum(0.9).into()),
        (
            "clipvalue=1.0",
            Sgd::new(0.05).momentum(0.9).clipvalue(1.0).into(),
        ),
        (
            "clipnorm=1.0",
            Sgd::new(0.05).momentum(0.9).clipnorm(1.0).into(),
        ),
        (
            "global_clipnorm=1.0",
            Sgd::new(0.05).momentum(0.9).global_clipnorm(1.0).into(),
        ),
    ];
    common::train_header("clipping");
    for (name, config) in configs {
        let mut model = Sequential::with_seed(&[28, 28], 7);
        model.add(Flatten::new())?;
        for _ in 0..10 {
            model.add(
                Dense::new(100)
                    .activation("relu")
                    .kernel_initializer("he_normal"),
            )?;
        }
        model.add(Dense::new(10).activation("softmax"))?;
        common::train_row(name, &mut model, config, (&train, &valid), 2)?;
    }
    Ok(())
}
