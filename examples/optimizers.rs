//! SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AdaMax, Nadam and AdamW trained on the same
//! model and data, as a table of final loss, validation accuracy and time.
//!
//! Run: `cargo run --release --example optimizers`

mod common;

use strata::optim::OptimizerConfig;
use strata::prelude::*;

fn main() -> Result<(), ModelError> {
    let (train_full, _) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);
    let optimizers: Vec<(&str, OptimizerConfig)> = vec![
        ("SGD(0.01)", Sgd::new(0.01).into()),
        ("SGD momentum 0.9", Sgd::new(0.01).momentum(0.9).into()),
        (
            "SGD Nesterov",
            Sgd::new(0.01).momentum(0.9).nesterov(true).into(),
        ),
        ("Adagrad(0.001)", Adagrad::new(0.001).into()),
        (
            "RMSprop(0.001, rho 0.9)",
            RmsProp::new(0.001).rho(0.9).into(),
        ),
        ("Adam(0.001)", Adam::new(0.001).into()),
        ("Adamax(0.001)", Adamax::new(0.001).into()),
        ("Nadam(0.001)", Nadam::new(0.001).into()),
        (
            "AdamW(0.001, wd 1e-5)",
            AdamW::new(0.001).weight_decay(1e-5).into(),
        ),
    ];
    common::train_header("optimizer");
    for (name, config) in optimizers {
        let mut model = Sequential::with_seed(&[28, 28], 42);
        model.add(Flatten::new())?;
        model.add(
            Dense::new(100)
                .activation("relu")
                .kernel_initializer("he_normal"),
        )?;
        model.add(
            Dense::new(100)
                .activation("relu")
                .kernel_initializer("he_normal"),
        )?;
        model.add(Dense::new(10).activation("softmax"))?;
        common::train_row(name, &mut model, config, (&train, &valid), 3)?;
    }
    Ok(())
}
