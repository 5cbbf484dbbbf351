//! Keyset pagination over UUIDv7 ids (time-ordered), for Relay connections.
//! A cursor is the opaque base64 of the row's id; pages never skip or repeat
//! rows when others are inserted meanwhile.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult, FieldError};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// A validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub before: Option<Uuid>,
    /// How many rows, counted from `after` forwards or from `before` backwards.
    pub size: u64,
    pub backwards: bool,
}

impl PageRequest {
    /// Parses Relay's four arguments; errors name the argument.
    pub fn parse(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Self> {
        let mut errors = Vec::new();
        let mut size = |name: &str, n: Option<i32>| match n {
            Some(n) if !(1..=MAX_PAGE_SIZE).contains(&n) => {
                errors.push(FieldError::new(
                    name,
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ));
                None
            }
            other => other.map(|n| n as u64),
        };
        let first = size("first", first);
        let last = size("last", last);
        if first.is_some() && last.is_some() {
            errors.push(FieldError::new(
                "last",
                "give either `first` or `last`, not both",
            ));
        }
        let mut cursor = |name: &str, raw: Option<String>| {
            raw.and_then(|c| match decode_cursor(&c) {
                Some(id) => Some(id),
                None => {
                    errors.push(FieldError::new(name, "is not a cursor from this list"));
                    None
                }
            })
        };
        let after = cursor("after", after);
        let before = cursor("before", before);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            after,
            before,
            size: first.or(last).unwrap_or(DEFAULT_PAGE_SIZE),
            backwards: last.is_some(),
        })
    }
}

/// Relay's four arguments as sent, parsed by the service once it has
/// decided the caller may read the list: permission comes before input.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    pub fn parse(self) -> AppResult<PageRequest> {
        PageRequest::parse(self.first, self.after, self.last, self.before)
    }
}

/// The page `page` asks for out of rows already in memory, in ascending id
/// order (a relation loaded whole for many owners at once): the same
/// cursors and limits as a page read from the database.
pub fn page_in_memory<T>(rows: Vec<T>, id: impl Fn(&T) -> Uuid, page: &PageRequest) -> Page<T> {
    let mut rows: Vec<T> = rows
        .into_iter()
        .filter(|r| page.after.is_none_or(|a| id(r) > a) && page.before.is_none_or(|b| id(r) < b))
        .collect();
    if page.backwards {
        rows.reverse();
    }
    rows.truncate(page.size as usize + 1);
    page_of(rows, page)
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// One page of rows, in ascending id order.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

/// Runs `select` for one page, keyed on `id_column`. One query: it fetches a
/// row more than asked to learn whether another page follows.
pub async fn paginate<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id_column: C,
    page: PageRequest,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let rows = window(select, id_column, &page).all(db).await?;
    Ok(page_of(rows, &page))
}

/// `select` narrowed to one page's window (and a row more), in the order
/// the page is read: for queries that join other rows, such as
/// [`sea_orm::SelectTwo`]. [`page_of`] turns its rows into the page.
pub fn window<S, C>(select: S, id_column: C, page: &PageRequest) -> S
where
    S: QueryFilter + QueryOrder + QuerySelect,
    C: ColumnTrait,
{
    let mut select = select;
    if let Some(after) = page.after {
        select = select.filter(id_column.gt(after));
    }
    if let Some(before) = page.before {
        select = select.filter(id_column.lt(before));
    }
    let select = if page.backwards {
        select.order_by_desc(id_column)
    } else {
        select.order_by_asc(id_column)
    };
    select.limit(page.size + 1)
}

/// The page in the rows a [`window`] returned.
pub fn page_of<T>(mut rows: Vec<T>, page: &PageRequest) -> Page<T> {
    let has_more = rows.len() as u64 > page.size;
    rows.truncate(page.size as usize);
    if page.backwards {
        rows.reverse();
        Page {
            items: rows,
            has_next_page: page.before.is_some(),
            has_previous_page: has_more,
        }
    } else {
        Page {
            items: rows,
            has_next_page: has_more,
            has_previous_page: page.after.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("nonsense!"), None);
    }

    #[test]
    fn pages_in_memory_follow_the_cursors() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let first_two = PageRequest::parse(Some(2), None, None, None).unwrap();
        let page = page_in_memory(ids.clone(), |i| *i, &first_two);
        assert_eq!(page.items, ids[..2]);
        assert!(page.has_next_page && !page.has_previous_page);
        let rest = PageRequest::parse(Some(10), Some(encode_cursor(ids[1])), None, None).unwrap();
        let page = page_in_memory(ids.clone(), |i| *i, &rest);
        assert_eq!(page.items, ids[2..]);
        assert!(!page.has_next_page && page.has_previous_page);
        let last_two = PageRequest::parse(None, None, Some(2), None).unwrap();
        assert_eq!(
            page_in_memory(ids.clone(), |i| *i, &last_two).items,
            ids[3..]
        );
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(PageRequest::parse(None, None, None, None).unwrap().size, 20);
        let AppError::Validation(fields) =
            PageRequest::parse(Some(101), None, None, None).unwrap_err()
        else {
            panic!("expected a validation error")
        };
        assert_eq!(fields[0].path, "first");
        assert!(PageRequest::parse(Some(0), None, None, None).is_err());
        assert!(PageRequest::parse(Some(5), None, Some(5), None).is_err());
        assert!(PageRequest::parse(None, Some("x".into()), None, None).is_err());
    }
}
