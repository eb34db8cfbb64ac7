//! Batch normalization: the seed's two models (BN after the activation, and BN before it
//! with `use_bias=False`), their summaries, the variables of a BN layer, and a training run.
//!
//! Run: `cargo run --release --example batch_normalization`

mod common;

use strata::prelude::*;

fn main() -> Result<(), ModelError> {
    let mut after = Sequential::with_seed(&[28, 28], 42);
    after.add(Flatten::new())?;
    after.add(BatchNormalization::new())?;
    after.add(
        Dense::new(300)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    after.add(BatchNormalization::new())?;
    after.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    after.add(BatchNormalization::new())?;
    after.add(Dense::new(10).activation("softmax"))?;
    println!("{}", after.summary());
    let vars: Vec<String> = after
        .layer_variables(1)
        .iter()
        .map(|(n, t)| format!("('{n}', {})", if *t { "True" } else { "False" }))
        .collect();
    println!(
        "[(var.name, var.trainable) for var in model.layers[1].variables]\n[{}]\n",
        vars.join(", ")
    );

    let mut before = Sequential::with_seed(&[28, 28], 42);
    before.add(Flatten::new())?;
    before.add(BatchNormalization::new())?;
    before.add(
        Dense::new(300)
            .kernel_initializer("he_normal")
            .use_bias(false),
    )?;
    before.add(BatchNormalization::new())?;
    before.add(Activation::Relu)?;
    before.add(
        Dense::new(100)
            .kernel_initializer("he_normal")
            .use_bias(false),
    )?;
    before.add(BatchNormalization::new())?;
    before.add(Activation::Relu)?;
    before.add(Dense::new(10).activation("softmax"))?;
    println!("{}", before.summary());

    let (train_full, _) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);
    for (name, model) in [
        ("BN after activation", &mut after),
        ("BN before activation", &mut before),
    ] {
        model.compile(
            Sgd::new(0.01),
            "sparse_categorical_crossentropy".parse()?,
            &[Metric::Accuracy],
        )?;
        println!("training: {name}");
        common::timed(name, || {
            model.fit(
                &train,
                FitOptions::epochs(2).validation_data(&valid).verbose(2),
            )
        })?;
    }
    println!("{}", after.summary());
    Ok(())
}
