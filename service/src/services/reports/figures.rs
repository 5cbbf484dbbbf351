//! The figures of a scope over a period: one query for members, one for
//! money, one for proposals, each summed by the database.

use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use uuid::Uuid;

use crate::error::AppResult;

use super::{
    Figures, GroupFigures, MoneyFigures, Period,
    sql::{Sql, money_sum, money_sum_where, money_total, sum},
};

/// Either the whole parent (one row, grouped by stakeholder kind) or some
/// of its pools (a row per pool, grouped by stakeholder group).
pub(super) struct Scope {
    pub(super) parent_entity_id: Uuid,
    pub(super) pool_ids: Option<Vec<Uuid>>,
}

impl Scope {
    /// The WHERE clause on pools `p` and the expression grouped on.
    fn bind(&self, q: &mut Sql, pool_column: &str) -> (String, String) {
        let parent = q.bind(self.parent_entity_id);
        match &self.pool_ids {
            None => (format!("p.parent_entity_id = {parent}"), "NULL".to_owned()),
            Some(ids) => (
                format!(
                    "p.parent_entity_id = {parent} AND {}",
                    q.in_ids(pool_column, ids)
                ),
                pool_column.to_owned(),
            ),
        }
    }
}

/// The figures of each pool in the scope (`None` for the whole parent, which
/// always has its row), in the order the queries first name them.
pub(super) async fn figures(
    db: &impl ConnectionTrait,
    scope: &Scope,
    period: Period,
) -> AppResult<Vec<(Option<Uuid>, Figures)>> {
    let mut report = Report {
        scope,
        period,
        per_pool: scope.pool_ids.is_some(),
        rows: Vec::new(),
    };
    report.add_members(db).await?;
    report.add_money(db).await?;
    report.add_proposals(db).await?;
    if !report.per_pool && report.rows.is_empty() {
        report.rows.push((None, Figures::default()));
    }
    Ok(report.rows)
}

/// The figures gathered so far, keyed by pool.
struct Report<'a> {
    scope: &'a Scope,
    period: Period,
    per_pool: bool,
    rows: Vec<(Option<Uuid>, Figures)>,
}

/// A query's placeholders: the scope's filter and the key grouped on, then
/// the period's ends.
struct Bound {
    filter: String,
    key: String,
    from: String,
    to: String,
}

impl Report<'_> {
    /// A query over the scope: its placeholders are bound first, in the
    /// order the statement numbers them, then `statement` writes the text.
    fn query(&self, pool_column: &str, statement: impl FnOnce(&Bound) -> String) -> Sql {
        let mut q = Sql::default();
        let (filter, key) = self.scope.bind(&mut q, pool_column);
        let from = q.bind(self.period.from);
        let to = q.bind(self.period.to);
        let bound = Bound {
            filter,
            key,
            from,
            to,
        };
        q.push(&statement(&bound));
        q
    }

    /// What a statement groups on: `per_pool` with a row per pool, else `whole`.
    fn grouping(&self, per_pool: String, whole: &str) -> String {
        if self.per_pool {
            per_pool
        } else {
            whole.to_owned()
        }
    }

    /// The figures of the pool a result row names, added if new.
    fn entry(&mut self, r: &QueryResult) -> Result<&mut Figures, DbErr> {
        let key: Option<Uuid> = if self.per_pool {
            r.try_get("", "k")?
        } else {
            None
        };
        let i = match self.rows.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.rows.push((key, Figures::default()));
                self.rows.len() - 1
            }
        };
        Ok(&mut self.rows[i].1)
    }

    /// Members at the end of the period, joins and leaves within it.
    async fn add_members(&mut self, db: &impl ConnectionTrait) -> AppResult<()> {
        let per_pool = self.per_pool;
        for r in self.members_query().all(db).await? {
            let f = self.entry(&r)?;
            let kind: String = r.try_get("", "kind")?;
            let members: i64 = r.try_get("", "members")?;
            f.members += members;
            f.joins += r.try_get::<i64>("", "joins")?;
            f.leaves += r.try_get::<i64>("", "leaves")?;
            f.members_by_group.push(GroupFigures {
                group_id: if per_pool {
                    r.try_get("", "group_id")?
                } else {
                    None
                },
                name: if per_pool {
                    r.try_get("", "group_name")?
                } else {
                    kind.clone()
                },
                kind,
                members,
            });
        }
        Ok(())
    }

    fn members_query(&self) -> Sql {
        self.query("m.pool_id", |b| {
            let (filter, key, from, to) = (&b.filter, &b.key, &b.from, &b.to);
            let (group_cols, group_by) = if self.per_pool {
                (
                    "g.id AS group_id, g.name AS group_name, g.kind AS kind",
                    format!("{key}, g.id, g.name, g.kind"),
                )
            } else {
                ("g.kind AS kind", "g.kind".to_owned())
            };
            format!(
                "SELECT {key} AS k, {group_cols},
           {members} AS members, {joins} AS joins, {leaves} AS leaves
         FROM memberships m
         JOIN pools p ON p.id = m.pool_id
         JOIN stakeholder_groups g ON g.id = m.stakeholder_group_id
         WHERE {filter} AND m.joined_at IS NOT NULL AND m.joined_at < {to}
         GROUP BY {group_by}
         ORDER BY {group_by}",
                members = sum(&format!(
                    "CASE WHEN m.left_at IS NULL OR m.left_at >= {to} THEN 1 ELSE 0 END"
                )),
                joins = sum(&format!(
                    "CASE WHEN m.joined_at >= {from} THEN 1 ELSE 0 END"
                )),
                leaves = sum(&format!(
                    "CASE WHEN m.left_at >= {from} AND m.left_at < {to} THEN 1 ELSE 0 END"
                )),
            )
        })
    }

    /// Money per currency and kind: the period's movements and the balance
    /// at its end.
    async fn add_money(&mut self, db: &impl ConnectionTrait) -> AppResult<()> {
        for r in self.money_query().all(db).await? {
            let figures = self.entry(&r)?;
            let currency: String = r.try_get("", "currency")?;
            let money = money_of(figures, currency);
            let in_period = money_total(&r, "in_period")?;
            money.balance += money_total(&r, "total")?;
            match r.try_get::<String>("", "kind")?.as_str() {
                "CONTRIBUTION" => money.contribution_income += in_period,
                "PARENT_SHARE" => money.parent_share -= in_period,
                "EXPENSE" => money.expenses -= in_period,
                "RENT" => money.rent -= in_period,
                "GRANT" | "LOAN" => money.funding += in_period,
                "REPAYMENT" => money.repayments -= in_period,
                _ => money.adjustments += in_period,
            }
        }
        Ok(())
    }

    /// FILTER rather than CASE: each row feeds only the sums it belongs to,
    /// which halves the work over millions of entries.
    fn money_query(&self) -> Sql {
        self.query("l.pool_id", |b| {
            let (filter, key, from, to) = (&b.filter, &b.key, &b.from, &b.to);
            let group_by =
                self.grouping(format!("{key}, l.currency, l.kind"), "l.currency, l.kind");
            format!(
                "SELECT {key} AS k, l.currency AS currency, l.kind AS kind,
           {in_period}, {total}
         FROM ledger_entries l
         JOIN pools p ON p.id = l.pool_id
         WHERE {filter} AND l.occurred_at < {to}
         GROUP BY {group_by}
         ORDER BY {group_by}",
                in_period = money_sum_where(
                    "l.amount_minor",
                    &format!("l.occurred_at >= {from}"),
                    "in_period"
                ),
                total = money_sum("l.amount_minor", "total"),
            )
        })
    }

    /// Proposals that closed within the period, and how many passed.
    async fn add_proposals(&mut self, db: &impl ConnectionTrait) -> AppResult<()> {
        for r in self.proposals_query().all(db).await? {
            let held: i64 = r.try_get("", "held")?;
            // Without GROUP BY the count answers one row even for none.
            if held == 0 {
                continue;
            }
            let f = self.entry(&r)?;
            f.proposals_held = held;
            f.proposals_passed = r.try_get("", "passed")?;
        }
        Ok(())
    }

    fn proposals_query(&self) -> Sql {
        self.query("pr.pool_id", |b| {
            let (filter, key, from, to) = (&b.filter, &b.key, &b.from, &b.to);
            let group_by = self.grouping(format!(" GROUP BY {key}"), "");
            format!(
                "SELECT {key} AS k, COUNT(*) AS held, {passed} AS passed
         FROM proposals pr
         JOIN pools p ON p.id = pr.pool_id
         WHERE {filter} AND pr.closed_at >= {from} AND pr.closed_at < {to}{group_by}",
                passed = "COUNT(*) FILTER (WHERE pr.outcome = 'PASSED')",
            )
        })
    }
}

/// The figures of one currency, added if new.
fn money_of(figures: &mut Figures, currency: String) -> &mut MoneyFigures {
    let i = match figures.money.iter().position(|m| m.currency == currency) {
        Some(i) => i,
        None => {
            figures.money.push(MoneyFigures {
                currency,
                ..Default::default()
            });
            figures.money.len() - 1
        }
    };
    &mut figures.money[i]
}
