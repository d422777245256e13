//! Combining leaf results through the ALL / ANY / NOT tree, short-circuited: leaves that the
//! answer did not need are reported as skipped.

use crate::domain::rule::Condition;

/// What one leaf answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafResult {
    /// The plugin answered.
    Answer(bool),
    /// The plugin (or its sandbox) failed.
    Failed(String),
}

/// The outcome of a tree: `Ok(matched)` or the first error that decided it; `used[i]` tells
/// whether leaf `i` (in [`Condition::leaves`] order) contributed.
pub fn decide(
    tree: &Condition,
    leaves: &[LeafResult],
    used: &mut Vec<bool>,
) -> Result<bool, String> {
    used.clear();
    used.resize(leaves.len(), false);
    let mut next = 0;
    walk(tree, leaves, &mut next, used, true)
}

/// Walk the tree; `live` is false inside branches already decided (their leaves are skipped but
/// still counted, so indices stay aligned).
fn walk(
    node: &Condition,
    leaves: &[LeafResult],
    next: &mut usize,
    used: &mut [bool],
    live: bool,
) -> Result<bool, String> {
    match node {
        Condition::Leaf(_) => {
            let i = *next;
            *next += 1;
            if !live {
                return Ok(false);
            }
            used[i] = true;
            match &leaves[i] {
                LeafResult::Answer(b) => Ok(*b),
                LeafResult::Failed(e) => Err(e.clone()),
            }
        }
        Condition::Not(child) => walk(child, leaves, next, used, live).map(|b| !b),
        Condition::All(children) => {
            let mut result = Ok(true);
            for child in children {
                let still = live && matches!(result, Ok(true));
                let r = walk(child, leaves, next, used, still);
                if still {
                    result = r;
                }
            }
            result
        }
        Condition::Any(children) => {
            let mut result = Ok(false);
            for child in children {
                let still = live && matches!(result, Ok(false));
                let r = walk(child, leaves, next, used, still);
                if still {
                    result = r;
                }
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rule::Leaf;
    use LeafResult::*;

    fn leaf() -> Condition {
        Condition::Leaf(Leaf {
            plugin: "p".into(),
            config: serde_json::json!({}),
        })
    }

    fn run(tree: &Condition, leaves: &[LeafResult]) -> (Result<bool, String>, Vec<bool>) {
        let mut used = Vec::new();
        let r = decide(tree, leaves, &mut used);
        (r, used)
    }

    #[test]
    fn all_stops_at_the_first_false() {
        let tree = Condition::All(vec![leaf(), leaf(), leaf()]);
        assert_eq!(
            run(&tree, &[Answer(true), Answer(false), Failed("x".into())]),
            (Ok(false), vec![true, true, false])
        );
        assert_eq!(
            run(&tree, &[Answer(true), Answer(true), Answer(true)]).0,
            Ok(true)
        );
    }

    #[test]
    fn any_stops_at_the_first_true() {
        let tree = Condition::Any(vec![leaf(), leaf()]);
        assert_eq!(
            run(&tree, &[Answer(true), Failed("x".into())]),
            (Ok(true), vec![true, false])
        );
        assert_eq!(run(&tree, &[Answer(false), Answer(false)]).0, Ok(false));
    }

    #[test]
    fn not_inverts_and_empty_groups_have_their_identity() {
        let tree = Condition::All(vec![
            Condition::Not(Box::new(leaf())),
            Condition::Any(vec![]),
        ]);
        assert_eq!(
            run(&tree, &[Answer(false)]).0,
            Ok(false),
            "empty any is false"
        );
        assert_eq!(
            run(&Condition::All(vec![]), &[]).0,
            Ok(true),
            "empty all is true"
        );
        assert_eq!(
            run(&Condition::Not(Box::new(leaf())), &[Answer(false)]).0,
            Ok(true)
        );
    }

    #[test]
    fn a_failed_leaf_that_decides_fails_the_tree() {
        let tree = Condition::All(vec![leaf(), Condition::Any(vec![leaf(), leaf()])]);
        assert_eq!(
            run(&tree, &[Answer(true), Failed("boom".into()), Answer(true)]).0,
            Err("boom".into())
        );
    }
}
