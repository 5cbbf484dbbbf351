//! What a pool's rules say of contributions of work, care and kind: who
//! confirms them, whether they carry a value in money, and what they mean.
//! A section of the rules document, so that a rules change can change it;
//! pools whose rules do not have it read [`WorkContributionRules::default`].

use serde::{Deserialize, Serialize};

/// The most confirmations the rules may ask for one contribution.
pub const MAX_CONFIRMATIONS: i32 = 5;
/// The most kinds of their own the rules may name beside work, care and kind.
pub const MAX_OTHER_KINDS: usize = 10;
/// Bounds of the hours one labour share stands for.
pub const MAX_HOURS_PER_SHARE: i32 = 10_000;
/// The most labour shares one member's vote may gain.
pub const MAX_LABOUR_SHARES: i32 = 100;

/// Who may confirm a contribution.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Confirmers {
    /// Any active member of the pool.
    #[default]
    AnyMember,
    /// The pool's admins only.
    Admins,
}

/// What confirmed contributions mean in the pool.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContributionMeaning {
    /// A report of who gave what, shown at the general meeting; votes do
    /// not change.
    #[default]
    Recognition,
    /// Labour shares: in a WORKERS-kind group, each confirmed
    /// `hoursPerShare` hours add one to the member's vote, up to
    /// `maxLabourShares`.
    LabourShares,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkContributionRules {
    /// Confirmations a contribution needs, 1 to [`MAX_CONFIRMATIONS`].
    pub confirmations_required: i32,
    pub confirmers: Confirmers,
    /// Whether a member may confirm their own contribution.
    pub self_confirmation: bool,
    /// Whether a contribution may carry a value in the pool's currency.
    pub valued: bool,
    pub meaning: ContributionMeaning,
    /// Hours of confirmed work or care one labour share stands for.
    pub hours_per_share: i32,
    /// The most labour shares a member's vote gains.
    pub max_labour_shares: i32,
    /// Labels of the pool's own kinds, recorded as `OTHER`.
    #[serde(default)]
    pub other_kinds: Vec<String>,
}

impl Default for WorkContributionRules {
    fn default() -> Self {
        Self {
            confirmations_required: 1,
            confirmers: Confirmers::AnyMember,
            self_confirmation: false,
            valued: false,
            meaning: ContributionMeaning::Recognition,
            hours_per_share: 100,
            max_labour_shares: 10,
            other_kinds: Vec::new(),
        }
    }
}

impl WorkContributionRules {
    /// Labour shares `quarter_hours` of confirmed work earn under these
    /// rules: none unless the rules give them, whole shares only, at most
    /// `max_labour_shares`. Negative or huge inputs cannot overflow.
    pub fn labour_shares(&self, quarter_hours: i64) -> i64 {
        if self.meaning != ContributionMeaning::LabourShares || self.hours_per_share < 1 {
            return 0;
        }
        let per_share = i64::from(self.hours_per_share) * 4;
        (quarter_hours.max(0) / per_share).min(i64::from(self.max_labour_shares.max(0)))
    }

    /// Whether `label` names one of the pool's own kinds (ignoring case).
    pub fn other_kind(&self, label: &str) -> Option<&str> {
        self.other_kinds
            .iter()
            .find(|k| k.eq_ignore_ascii_case(label.trim()))
            .map(String::as_str)
    }

    /// The rules' section in words, one clause a line.
    pub fn clauses(&self, currency: &str) -> Vec<String> {
        let who = match self.confirmers {
            Confirmers::AnyMember => "other members",
            Confirmers::Admins => "the admins",
        };
        let mut out = vec![format!(
            "Members record the work, care and contributions in kind they give the pool{}. A contribution counts once {} {} confirmed it{}.",
            if self.other_kinds.is_empty() {
                String::new()
            } else {
                format!(
                    ", and contributions of these other kinds: {}",
                    self.other_kinds.join(", ")
                )
            },
            self.confirmations_required,
            if self.confirmations_required == 1 {
                format!("of {who} has")
            } else {
                format!("of {who} have")
            },
            if self.self_confirmation {
                ""
            } else {
                "; no member confirms their own"
            }
        )];
        out.push(if self.valued {
            format!("A contribution may state its value in {currency}; the value is a record, not a debt of the pool.")
        } else {
            "Contributions are recorded in hours or quantities, not in money.".to_owned()
        });
        out.push(match self.meaning {
            ContributionMeaning::Recognition => "Confirmed contributions form each member's contribution account, reported at the general meeting; they do not change any vote.".to_owned(),
            ContributionMeaning::LabourShares => format!(
                "Confirmed hours are labour shares: in a group of workers, each {} confirmed hours add one to the member's vote when agreement is counted, up to {} more; the quorum still counts members.",
                self.hours_per_share, self.max_labour_shares
            ),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn shares(hours_per_share: i32, max: i32) -> WorkContributionRules {
        WorkContributionRules {
            meaning: ContributionMeaning::LabourShares,
            hours_per_share,
            max_labour_shares: max,
            ..WorkContributionRules::default()
        }
    }

    #[test]
    fn recognition_gives_no_shares() {
        assert_eq!(WorkContributionRules::default().labour_shares(10_000), 0);
    }

    #[test]
    fn whole_shares_up_to_the_bound() {
        let r = shares(10, 3);
        assert_eq!(r.labour_shares(39 * 4 + 3), 3, "39.75 hours: 3 shares");
        assert_eq!(r.labour_shares(9 * 4 + 3), 0);
        assert_eq!(r.labour_shares(10 * 4), 1);
        assert_eq!(r.labour_shares(1_000 * 4), 3, "bounded");
        assert_eq!(r.labour_shares(-40), 0);
    }

    proptest! {
        #[test]
        fn shares_never_overflow_and_stay_bounded(
            quarter_hours in any::<i64>(),
            per in 1..=MAX_HOURS_PER_SHARE,
            max in 0..=MAX_LABOUR_SHARES,
        ) {
            let s = shares(per, max).labour_shares(quarter_hours);
            prop_assert!((0..=i64::from(max)).contains(&s));
        }

        #[test]
        fn more_hours_never_mean_fewer_shares(a in 0i64..1_000_000, b in 0i64..1_000_000, per in 1..=100) {
            let r = shares(per, MAX_LABOUR_SHARES);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(r.labour_shares(lo) <= r.labour_shares(hi));
        }
    }
}
