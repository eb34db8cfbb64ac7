//! Dataset preparation and batching.

use strata_data::{Batch, Dataset, Order};
use strata_tensor::Tensor;
use strata_tensor::kernels::convert::Stores;

fn toy(n: usize) -> Dataset {
    // Sample i has pixels [i, i+1, i+2, i+3] (2×2) and label i % 10.
    let pixels = (0..n)
        .flat_map(|i| (0..4).map(move |j| (i + j) as u8))
        .collect();
    Dataset::from_bytes(pixels, &[2, 2], (0..n).map(|i| (i % 10) as u32).collect()).unwrap()
}

#[test]
fn select_relabel_and_split_like_the_chapter() {
    let data = toy(100);
    let task_b = data
        .select(|y| y == 0 || y == 5)
        .unwrap()
        .map_labels(|y| u32::from(y == 0))
        .unwrap();
    assert_eq!(task_b.len(), 20);
    assert_eq!(task_b.labels().unwrap()[..4], [1, 0, 1, 0]);
    let (train, valid) = task_b.split_at(task_b.len() - 5).unwrap();
    assert_eq!((train.len(), valid.len()), (15, 5));
    // The last sample of the validation split is sample 95 (label 5 → 0).
    let x = valid.inputs_tensor();
    assert_eq!(&x.as_slice()[16..], &[95.0, 96.0, 97.0, 98.0]);
    assert!(data.split_at(101).is_err());
    assert!(data.slice(95..101).is_err());
}

#[test]
fn scaling_is_applied_per_batch_and_matches_dividing_by_255() {
    let data = toy(3).scaled(1.0 / 255.0);
    let batch = data
        .batches(3, Order::Sequential, 0)
        .unwrap()
        .next()
        .unwrap();
    assert_eq!(batch.inputs.shape(), &[3, 2, 2]);
    for (i, &v) in batch.inputs.as_slice().iter().enumerate() {
        let pixel = (i / 4 + i % 4) as f32;
        assert_eq!(v, pixel * (1.0 / 255.0));
    }
}

#[test]
fn batches_cover_the_epoch_with_a_partial_last_batch() {
    let data = toy(11_900);
    let batches = data.batches(32, Order::Shuffled { seed: 42 }, 0).unwrap();
    assert_eq!(batches.steps(), 372);
    let sizes: Vec<usize> = batches.map(|b| b.len()).collect();
    assert_eq!(sizes.len(), 372);
    assert!(sizes[..371].iter().all(|&s| s == 32));
    assert_eq!(sizes[371], 11_900 - 371 * 32);
}

#[test]
fn shuffling_is_a_permutation_that_changes_per_epoch_and_repeats_per_seed() {
    let data = toy(1000);
    let order = |seed, epoch| {
        data.batches(10, Order::Shuffled { seed }, epoch)
            .unwrap()
            .order()
            .to_vec()
    };
    let a = order(7, 0);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert_eq!(a, order(7, 0));
    assert_ne!(a, order(7, 1));
    assert_ne!(a, order(8, 0));
    assert_eq!(
        data.batches(10, Order::Sequential, 3).unwrap().order(),
        sorted.as_slice()
    );
}

#[test]
fn labels_follow_their_samples_through_the_shuffle() {
    let data = toy(50);
    let mut batches = data.batches(8, Order::Shuffled { seed: 1 }, 2).unwrap();
    let mut batch = Batch::default();
    while batches.fill(&mut batch) {
        for (row, &label) in batch.inputs.as_slice().chunks(4).zip(&batch.labels) {
            assert_eq!(row[0] as usize % 10, label);
        }
    }
}

#[test]
fn fill_reuses_the_batch_buffer() {
    let data = toy(64);
    let mut batches = data.batches(32, Order::Sequential, 0).unwrap();
    let mut batch = Batch::default();
    assert!(batches.fill(&mut batch));
    let first = batch.inputs.as_slice().as_ptr();
    assert!(batches.fill(&mut batch));
    assert_eq!(
        batch.inputs.as_slice().as_ptr(),
        first,
        "the second batch should reuse the first one's buffer"
    );
    assert!(!batches.fill(&mut batch));
}

#[test]
fn value_targets_are_batched_as_tensors() {
    let x = Tensor::from_fn(&[5, 3], |i| i as f32);
    let y = Tensor::from_fn(&[5, 2], |i| -(i as f32));
    let data = Dataset::from_tensors(&x, &y).unwrap();
    let batch = data
        .batches(4, Order::Sequential, 0)
        .unwrap()
        .nth(1)
        .unwrap();
    assert_eq!(batch.inputs.as_slice(), &[12.0, 13.0, 14.0]);
    assert_eq!(batch.targets.unwrap().as_slice(), &[-8.0, -9.0]);
    assert!(batch.labels.is_empty());
}

#[test]
fn invalid_arguments_are_errors_not_panics() {
    let data = toy(10);
    assert!(data.batches(0, Order::Sequential, 0).is_err());
    assert!(Dataset::from_bytes(vec![0; 7], &[2, 2], vec![0, 1]).is_err());
    assert!(Dataset::from_bytes(vec![0; 8], &[2, 2], vec![0]).is_err());
    assert!(Dataset::from_bytes(vec![], &[0], vec![]).is_err());
}

#[test]
fn fill_batch_gathers_any_rows_and_rejects_indices_past_the_end() {
    let data = toy(20);
    let mut batch = Batch::default();
    data.fill_batch(&[7, 3, 19], &mut batch).unwrap();
    assert_eq!(batch.inputs.shape(), &[3, 2, 2]);
    assert_eq!(&batch.inputs.as_slice()[..4], &[7.0, 8.0, 9.0, 10.0]);
    assert_eq!(&batch.inputs.as_slice()[8..], &[19.0, 20.0, 21.0, 22.0]);
    assert_eq!(batch.labels, [7, 3, 9]);
    // The same rows as the iterator gives for a sequential epoch.
    let second = data
        .batches(3, Order::Sequential, 0)
        .unwrap()
        .nth(1)
        .unwrap();
    data.fill_batch(&[3, 4, 5], &mut batch).unwrap();
    assert_eq!(batch.inputs.as_slice(), second.inputs.as_slice());
    assert_eq!(batch.labels, second.labels);
    // A bad index is an error and leaves the batch as it was.
    let err = data.fill_batch(&[1, 20], &mut batch).unwrap_err();
    assert!(err.to_string().contains("20"), "{err}");
    assert_eq!(batch.labels, [3, 4, 5]);
}

#[test]
fn next_indices_walks_the_same_batches_as_fill() {
    let data = toy(50);
    let mut a = data.batches(8, Order::Shuffled { seed: 3 }, 1).unwrap();
    let mut b = data.batches(8, Order::Shuffled { seed: 3 }, 1).unwrap();
    let (mut from_fill, mut gathered) = (Batch::default(), Batch::default());
    let mut count = 0;
    while let Some(rows) = a.next_indices() {
        assert!(b.fill(&mut from_fill));
        data.fill_batch(rows, &mut gathered).unwrap();
        assert_eq!(gathered.inputs.as_slice(), from_fill.inputs.as_slice());
        assert_eq!(gathered.labels, from_fill.labels);
        count += 1;
    }
    assert_eq!(count, 7);
    assert!(!b.fill(&mut from_fill));
}

#[test]
fn streaming_stores_give_the_same_batches_as_cached_ones() {
    // Wide samples (28×28 bytes, scaled by 1/255) so that the vector body of the streaming
    // conversion runs, with its unaligned head and tail.
    let n = 37;
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i * 131 + 17) as u8).collect();
    let data = Dataset::from_bytes(pixels, &[28, 28], (0..n as u32).collect())
        .unwrap()
        .scaled(1.0 / 255.0);
    let mut a = data.batches(8, Order::Shuffled { seed: 5 }, 2).unwrap();
    let mut b = data.batches(8, Order::Shuffled { seed: 5 }, 2).unwrap();
    let (mut cached, mut streamed, mut gathered) =
        (Batch::default(), Batch::default(), Batch::default());
    let mut count = 0;
    while a.fill(&mut cached) {
        assert!(b.fill_with(&mut streamed, Stores::Streaming));
        let bits = |t: &Tensor| t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&streamed.inputs), bits(&cached.inputs));
        assert_eq!(streamed.labels, cached.labels);
        data.fill_batch_with(&cached.labels, &mut gathered, Stores::Streaming)
            .unwrap();
        assert_eq!(bits(&gathered.inputs), bits(&cached.inputs));
        count += 1;
    }
    assert_eq!(count, 5);
    assert!(!b.fill_with(&mut streamed, Stores::Streaming));
    let err = data
        .fill_batch_with(&[0, n], &mut gathered, Stores::Streaming)
        .unwrap_err();
    assert!(err.to_string().contains(&n.to_string()), "{err}");
}

#[test]
fn float_features_stream_to_the_same_batches() {
    let (n, width) = (19, 50);
    let values: Vec<f32> = (0..n * width).map(|i| (i as f32 * 0.37).cos()).collect();
    let inputs = Tensor::from_vec(&[n, width], values).unwrap();
    let data = Dataset::from_tensor(&inputs, (0..n as u32).collect()).unwrap();
    let mut a = data.batches(4, Order::Shuffled { seed: 9 }, 0).unwrap();
    let mut b = data.batches(4, Order::Shuffled { seed: 9 }, 0).unwrap();
    let (mut cached, mut streamed) = (Batch::default(), Batch::default());
    while a.fill(&mut cached) {
        assert!(b.fill_with(&mut streamed, Stores::Streaming));
        assert_eq!(streamed.inputs.as_slice(), cached.inputs.as_slice());
        for (r, &i) in cached.labels.iter().enumerate() {
            assert_eq!(
                &cached.inputs.as_slice()[r * width..(r + 1) * width],
                &inputs.as_slice()[i * width..(i + 1) * width]
            );
        }
    }
}
