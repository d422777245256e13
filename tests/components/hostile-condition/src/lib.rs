//! A condition that attacks the sandbox when its config says so: `{"attack": "loop"}`.
//! `{"attack": "none"}` behaves: it matches.

use ferrule_plugin_sdk::prelude::*;
use std::hint::black_box;

/// Which attack.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// Behave.
    None,
    /// Spin forever.
    Loop,
    /// Allocate until something gives.
    Memory,
    /// Recurse without end (frames on the wasm call stack).
    Recursion,
    /// Recurse with big frames (on the shadow stack in linear memory).
    StackHog,
    /// Panic.
    Panic,
    /// Read /etc/passwd.
    File,
    /// Read the environment.
    Env,
    /// Read the wall clock.
    Clock,
    /// Return a 1 MiB error message.
    HugeOutput,
    /// Print a lot.
    Chatty,
}

/// `{"attack": "loop"}`
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Config {
    /// The attack.
    pub attack: Attack,
}

/// The condition.
pub struct Hostile;

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        0
    } else {
        black_box(recurse(black_box(depth + 1))) + 1
    }
}

#[inline(never)]
fn hog(depth: u64) -> u64 {
    let pad = black_box([depth; 64]);
    if black_box(depth) == u64::MAX {
        pad[3]
    } else {
        hog(depth + 1) + pad[7]
    }
}

impl Condition for Hostile {
    type Config = Config;
    const NAME: &'static str = "hostile-condition";
    const VERSION: &'static str = "0.1.0";
    const SUMMARY: &'static str = "Attacks the sandbox (test fixture).";

    fn evaluate(config: &Config, _ctx: &Context) -> Result<bool, PluginError> {
        match config.attack {
            Attack::None => Ok(true),
            Attack::Loop => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            Attack::Memory => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    black_box(&hoard);
                }
            }
            Attack::Recursion => Ok(recurse(0) == 7),
            Attack::StackHog => Ok(hog(0) == 7),
            Attack::Panic => panic!("hostile plugin gives up"),
            Attack::File => {
                let text = std::fs::read_to_string("/etc/passwd")
                    .map_err(|e| PluginError::failed(e.to_string()))?;
                Err(PluginError::failed(format!(
                    "read the host's files: {text}"
                )))
            }
            Attack::Env => {
                let vars: Vec<(String, String)> = std::env::vars().collect();
                Err(PluginError::failed(format!(
                    "read the environment: {vars:?}"
                )))
            }
            Attack::Clock => {
                let now = std::time::SystemTime::now();
                Err(PluginError::failed(format!("read the clock: {now:?}")))
            }
            Attack::HugeOutput => Err(PluginError::failed("x".repeat(1 << 20))),
            Attack::Chatty => {
                for i in 0..20_000 {
                    println!("line {i} of a very chatty plugin");
                    ferrule_plugin_sdk::log::info(&format!("log line {i}"));
                }
                Ok(true)
            }
        }
    }
}

export_condition!(Hostile);
