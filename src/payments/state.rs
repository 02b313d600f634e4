//! A payment's state machine. States: `initiated` (the platform gave a payment URL, nothing
//! heard since), `pending` (the platform said it does not know yet), `paid`, `failed`, `review`
//! (no final answer within the reconciliation window: an operator must look).
//!
//! | from \ outcome | paid | failed | pending |
//! |---|---|---|---|
//! | initiated | paid | failed | pending |
//! | pending | paid | failed | — |
//! | failed | paid (a later attempt succeeded) | — | — |
//! | review | paid | failed | — |
//! | paid | — (same transaction) / flagged (another transaction: paid twice) | — (kept, recorded) | — |

/// Where a payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayState {
    Initiated,
    Pending,
    Paid,
    Failed,
    Review,
}

impl PayState {
    pub fn as_str(self) -> &'static str {
        match self {
            PayState::Initiated => "initiated",
            PayState::Pending => "pending",
            PayState::Paid => "paid",
            PayState::Failed => "failed",
            PayState::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<PayState> {
        [
            PayState::Initiated,
            PayState::Pending,
            PayState::Paid,
            PayState::Failed,
            PayState::Review,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// Still waiting for the platform's final word (reconciliation asks about these).
    pub fn open(self) -> bool {
        matches!(self, PayState::Initiated | PayState::Pending)
    }
}

/// What the platform said about a payment (a verified callback or status answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Failed,
    Pending,
}

/// What applying an outcome does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Move to this state.
    Move(PayState),
    /// Nothing changes (already there, or a late answer that must not undo a payment).
    Keep,
    /// Nothing changes, but an operator must look: money arrived twice.
    PaidTwice,
}

/// The effect of `outcome` (for transaction `txn`) on a payment in `from` whose applied
/// transaction, if any, is `applied_txn`.
pub fn apply(from: PayState, applied_txn: Option<&str>, outcome: Outcome, txn: &str) -> Effect {
    use PayState::*;
    match (from, outcome) {
        (Paid, Outcome::Paid) if applied_txn == Some(txn) => Effect::Keep,
        (Paid, Outcome::Paid) => Effect::PaidTwice,
        (Paid, _) => Effect::Keep,
        (_, Outcome::Paid) => Effect::Move(Paid),
        (Initiated | Pending | Review, Outcome::Failed) => Effect::Move(Failed),
        (Failed, _) => Effect::Keep,
        (Initiated, Outcome::Pending) => Effect::Move(Pending),
        (Pending | Review, Outcome::Pending) => Effect::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PayState::*;

    #[test]
    fn a_payment_is_never_undone_and_never_counted_twice() {
        assert_eq!(
            apply(Initiated, None, Outcome::Paid, "T1"),
            Effect::Move(Paid)
        );
        assert_eq!(
            apply(Pending, None, Outcome::Failed, "T1"),
            Effect::Move(Failed)
        );
        assert_eq!(apply(Paid, Some("T1"), Outcome::Paid, "T1"), Effect::Keep);
        assert_eq!(apply(Paid, Some("T1"), Outcome::Failed, "T1"), Effect::Keep);
        assert_eq!(
            apply(Paid, Some("T1"), Outcome::Paid, "T2"),
            Effect::PaidTwice
        );
        assert_eq!(
            apply(Failed, Some("T1"), Outcome::Paid, "T2"),
            Effect::Move(Paid)
        );
        assert_eq!(
            apply(Failed, Some("T1"), Outcome::Pending, "T1"),
            Effect::Keep
        );
        assert_eq!(
            apply(Initiated, None, Outcome::Pending, "T1"),
            Effect::Move(Pending)
        );
        assert_eq!(apply(Review, None, Outcome::Paid, "T1"), Effect::Move(Paid));
        for s in [Initiated, Pending, Paid, Failed, Review] {
            assert_eq!(PayState::parse(s.as_str()), Some(s));
        }
        assert!(Initiated.open() && Pending.open() && !Review.open());
    }
}
