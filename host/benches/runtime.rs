//! The cost of running a condition plugin: a fresh sandbox per call (what the engine does), a
//! warm instance, and the same plugin logic linked natively; compiling a component vs loading it
//! from the compiled-code cache. Run with `RUST_BACKTRACE=0 cargo bench -p ferrule-host`.

use criterion::{Criterion, criterion_group, criterion_main};
use ferrule_host::builtin;
use ferrule_host::runtime::{CodeCache, Limits, PreparedContext, Runtime, Sandbox};
use ferrule_plugin_sdk::testing;
use ferrule_plugin_subject_contains::SubjectContains;
use std::hint::black_box;

const CONFIG: &str = r#"{"phrases": ["zwrot", "reklamacja", "возврат"], "match": "any"}"#;

fn calls(c: &mut Criterion) {
    let runtime = Runtime::new(None).unwrap();
    let plugin = runtime
        .load(builtin::component("subject-contains").unwrap())
        .unwrap();
    let mut ctx = testing::context();
    ctx.ticket.subject = "ZWROT zamówienia 1042 — прошу оформить возврат".into();
    let prepared = PreparedContext::new(&ctx);
    let configs = vec![CONFIG.to_owned()];
    let sandbox = Sandbox::new(Limits::CONDITION);

    let mut group = c.benchmark_group("subject-contains");
    group.bench_function("fresh sandbox: instantiate + call", |b| {
        b.iter(|| {
            let run = plugin.evaluate(black_box(&prepared), black_box(&configs), &sandbox);
            black_box(run.result.unwrap());
        })
    });
    let mut warm = plugin.warm_condition(&sandbox).unwrap();
    group.bench_function("warm instance: call", |b| {
        b.iter(|| {
            black_box(
                warm.evaluate(black_box(&prepared), black_box(&configs))
                    .unwrap(),
            )
        })
    });
    group.bench_function("native: same logic linked in", |b| {
        b.iter(|| {
            black_box(
                testing::verdict::<SubjectContains>(black_box(CONFIG), black_box(&ctx)).unwrap(),
            )
        })
    });
    group.bench_function("prepare context (once per event)", |b| {
        b.iter(|| black_box(PreparedContext::new(black_box(&ctx))))
    });
    group.finish();
}

fn loading(c: &mut Criterion) {
    let bytes = builtin::component("subject-contains").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cached = Runtime::new(Some(CodeCache::new(dir.path()).unwrap())).unwrap();
    cached.load(bytes).unwrap(); // fill the cache
    let uncached = Runtime::new(None).unwrap();
    let mut group = c.benchmark_group("load subject-contains");
    group.sample_size(20);
    group.bench_function("compile", |b| {
        b.iter(|| black_box(uncached.load(bytes).unwrap()))
    });
    group.bench_function("from the on-disk cache", |b| {
        b.iter(|| black_box(cached.load(bytes).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, calls, loading);
criterion_main!(benches);
