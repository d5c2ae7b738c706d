//! What a partial update (PUT, API.md §1.7) does to one stored field: keep it, clear it or set it. Applying a
//! patch reports whether the stored value actually changed, which is how a no-op PUT is told from a change.

/// What an update does to a stored field.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the request sent this member at all (a value or `null`).
    pub fn is_sent(&self) -> bool {
        !matches!(self, Patch::Keep)
    }
}

/// The wire names of the members a request sent, from `(name, sent)` pairs.
pub fn sent(members: &[(&'static str, bool)]) -> Vec<&'static str> {
    members.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect()
}

impl<T: PartialEq + Clone> Patch<T> {
    /// Applies to an optional field; returns whether it changed.
    pub fn apply_opt(self, target: &mut Option<T>) -> bool {
        let new = match self {
            Patch::Keep => return false,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        };
        let changed = *target != new;
        *target = new;
        changed
    }

    /// Applies to a required field (`Clear` never reaches here: the validator refuses it).
    pub fn apply(self, target: &mut T) -> bool {
        match self {
            Patch::Set(v) if *target != v => {
                *target = v;
                true
            }
            _ => false,
        }
    }
}

/// Replaces a whole array when one was sent; `true` when it differs from the stored one.
pub fn replace<T: PartialEq + Clone>(target: &mut T, new: Option<&T>) -> bool {
    match new {
        Some(v) if target != v => {
            *target = v.clone();
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_equal_to_the_stored_one_is_no_change() {
        let mut s = "a".to_owned();
        assert!(!Patch::Set("a".to_owned()).apply(&mut s));
        assert!(Patch::Set("b".to_owned()).apply(&mut s));
        let mut o: Option<i64> = None;
        assert!(!Patch::Clear.apply_opt(&mut o));
        assert!(Patch::Set(1).apply_opt(&mut o));
        assert!(!Patch::Keep.apply_opt(&mut o));
        assert!(Patch::Clear.apply_opt(&mut o));
        let mut v = vec![1];
        assert!(!replace(&mut v, Some(&vec![1])));
        assert!(replace(&mut v, Some(&vec![])));
        assert!(!replace(&mut v, None));
    }
}
