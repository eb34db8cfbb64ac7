//! Regularization: l2 penalties on Dense layers, dropout, MC dropout (the mean of 100
//! stochastic predictions and its uncertainty), and max-norm.
//!
//! Run: `cargo run --release --example regularization`

mod common;

use strata::prelude::*;

fn compile_fit(
    model: &mut Sequential,
    train: &Dataset,
    valid: &Dataset,
    name: &str,
) -> Result<(), ModelError> {
    model.compile(
        Sgd::new(0.01).momentum(0.9),
        "sparse_categorical_crossentropy".parse()?,
        &[Metric::Accuracy],
    )?;
    let h = model.fit(
        train,
        FitOptions::epochs(3).validation_data(valid).verbose(0),
    )?;
    println!(
        "{name:<28} loss {:.4}  val_accuracy {:.4}",
        h.get("loss").unwrap().last().unwrap(),
        h.get("val_accuracy").unwrap().last().unwrap()
    );
    Ok(())
}

fn main() -> Result<(), ModelError> {
    let (train_full, test) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);

    // l2 on every Dense kernel (Keras: kernel_regularizer=keras.regularizers.l2(0.01)).
    let mut l2 = Sequential::with_seed(&[28, 28], 42);
    l2.add(Flatten::new())?;
    for units in [100, 100] {
        l2.add(
            Dense::new(units)
                .activation("elu")
                .kernel_initializer("he_normal")
                .kernel_regularizer(Regularizer::L2(0.001)),
        )?;
    }
    l2.add(
        Dense::new(10)
            .activation("softmax")
            .kernel_regularizer(Regularizer::L2(0.001)),
    )?;
    compile_fit(&mut l2, &train, &valid, "l2(0.001)")?;

    // Dropout.
    let mut dropout = Sequential::with_seed(&[28, 28], 42);
    dropout.add(Flatten::new())?;
    dropout.add(Dropout::new(0.2, 1))?;
    dropout.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    dropout.add(Dropout::new(0.2, 2))?;
    dropout.add(
        Dense::new(100)
            .activation("relu")
            .kernel_initializer("he_normal"),
    )?;
    dropout.add(Dropout::new(0.2, 3))?;
    dropout.add(Dense::new(10).activation("softmax"))?;
    compile_fit(&mut dropout, &train, &valid, "dropout(0.2)")?;

    // MC dropout: 100 stochastic predictions on the first test images, dropout active, BN
    // statistics untouched.
    let x = test.slice(0..3)?.inputs_tensor();
    let samples: Vec<Tensor> = (0..100)
        .map(|_| dropout.predict_sample(&x, 32))
        .collect::<Result<_, _>>()?;
    let mean = samples
        .iter()
        .skip(1)
        .fold(samples[0].clone(), |acc, s| &acc + s)
        .scale(1.0 / samples.len() as f32);
    let std = samples
        .iter()
        .map(|s| (s - &mean).map(|d| d * d))
        .fold(Tensor::zeros(mean.shape()), |acc, s| &acc + &s)
        .scale(1.0 / samples.len() as f32)
        .map(f32::sqrt);
    let deterministic = dropout.predict(&x, 32)?;
    let labels = test.labels().unwrap();
    for (i, &label) in labels.iter().enumerate().take(3) {
        let row = |t: &Tensor| t.as_slice()[i * 10..(i + 1) * 10].to_vec();
        let (m, s, d) = (row(&mean), row(&std), row(&deterministic));
        let best = (0..10).max_by(|&a, &b| m[a].total_cmp(&m[b])).unwrap();
        println!(
            "test image {i} (true: {}): MC mean p={:.3} ± {:.3} for {}, single deterministic p={:.3}",
            fashion_mnist::CLASS_NAMES[label as usize],
            m[best],
            s[best],
            fashion_mnist::CLASS_NAMES[best],
            d[best]
        );
    }

    // Max-norm (Keras: kernel_constraint=keras.constraints.max_norm(1.0)).
    let mut max_norm = Sequential::with_seed(&[28, 28], 42);
    max_norm.add(Flatten::new())?;
    for _ in 0..2 {
        max_norm.add(
            Dense::new(100)
                .activation("relu")
                .kernel_initializer("he_normal")
                .kernel_constraint(Constraint::MaxNorm {
                    max_value: 1.0,
                    axis: 0,
                }),
        )?;
    }
    max_norm.add(Dense::new(10).activation("softmax"))?;
    compile_fit(&mut max_norm, &train, &valid, "max_norm(1.0)")?;
    let kernel = &max_norm.get_weights()[0];
    let largest = (0..100)
        .map(|j| {
            (0..784)
                .map(|i| kernel.as_slice()[i * 100 + j].powi(2))
                .sum::<f32>()
                .sqrt()
        })
        .fold(0.0f32, f32::max);
    println!("largest incoming-weight norm of the first hidden layer: {largest:.4} (≤ 1)");
    Ok(())
}
