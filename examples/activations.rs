//! Every activation of the chapter, then a short training comparison of ReLU, LeakyReLU,
//! ELU, SELU (with LeCun initialization), GELU, Swish and Mish on Fashion-MNIST.
//!
//! Run: `cargo run --release --example activations`

mod common;

use strata::prelude::*;

fn main() -> Result<(), ModelError> {
    let xs = [-4.0f32, -1.0, -0.1, 0.0, 0.1, 1.0, 4.0];
    let names = [
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "gelu_approximate",
        "silu",
        "mish",
        "sigmoid",
        "tanh",
        "softplus",
    ];
    print!("{:<18}", "x");
    xs.iter().for_each(|x| print!("{x:>10.2}"));
    println!();
    for name in names {
        let act: Activation = name.parse()?;
        let tape = strata::autograd::Tape::new();
        let y = act
            .apply(tape.constant(Tensor::from_vec(&[1, xs.len()], xs.to_vec())?))
            .value();
        print!("{name:<18}");
        y.as_slice().iter().for_each(|v| print!("{v:>10.4}"));
        println!();
    }

    let (train_full, _test) = common::fashion_mnist_scaled();
    let (train, valid) = common::train_valid(&train_full);
    let contenders: Vec<(&str, Activation, &str)> = vec![
        ("ReLU", Activation::Relu, "he_normal"),
        (
            "LeakyReLU(0.2)",
            Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            "he_normal",
        ),
        ("ELU", "elu".parse()?, "he_normal"),
        ("SELU", Activation::Selu, "lecun_normal"),
        ("GELU", "gelu".parse()?, "he_normal"),
        ("Swish", "swish".parse()?, "he_normal"),
        ("Mish", Activation::Mish, "he_normal"),
    ];
    println!();
    common::train_header("activation");
    for (label, activation, init) in contenders {
        let mut model = Sequential::with_seed(&[28, 28], 42);
        model.add(Flatten::new())?;
        for _ in 0..3 {
            model.add(
                Dense::new(100)
                    .activation(activation)
                    .kernel_initializer(init),
            )?;
        }
        model.add(Dense::new(10).activation("softmax"))?;
        common::train_row(
            label,
            &mut model,
            Sgd::new(0.01).momentum(0.9),
            (&train, &valid),
            3,
        )?;
    }
    Ok(())
}
