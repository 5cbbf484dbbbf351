//! Codes for the errors async-graphql raises itself, set where each one
//! arises: parsing, validation (with the depth and complexity limits, which
//! this extension enforces so that it knows when they were exceeded) and
//! argument parsing. Nothing here reads an error's message.

use std::sync::Arc;

use async_graphql::{
    ObjectType, Pos, Request, Response, Schema, ServerError, ServerResult, SubscriptionType,
    ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
        NextValidation, ResolveInfo,
    },
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::error::code;

/// The depth and complexity limits, and the codes of the library's errors.
pub struct ErrorCodes {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub execution: Execution,
}

/// What happens to an operation that passed validation.
#[derive(Clone)]
pub enum Execution {
    Runs {
        /// An operation of this name panics when it runs
        /// (`TEST_PANIC_OPERATION`): how the tests reach the server's
        /// answer to a panic.
        panic_operation: Option<String>,
    },
    /// Nothing runs, and the answer has no errors: for telling why another
    /// schema refused a request (`http::diagnose`).
    Refused,
}

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            execution: self.execution.clone(),
        })
    }
}

struct ErrorCodesExtension {
    max_depth: usize,
    max_complexity: usize,
    execution: Execution,
}

/// Sets `code` on an error that has none yet.
fn code_unless_set(err: &mut ServerError, code: &str) {
    let ext = err.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
}

/// A new error with its code, for errors this server raises around the
/// library (limits, persisted queries, timeouts).
pub fn coded(message: &str, code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    code_unless_set(&mut err, code);
    err
}

impl ErrorCodesExtension {
    /// The limits, checked in the order async-graphql checks its own. The
    /// message names the figure and the limit, so a client can tell how far
    /// over it is and what to cut.
    fn over_limits(&self, result: &ValidationResult) -> Option<ServerError> {
        if result.complexity > self.max_complexity {
            Some(coded(
                &format!(
                    "the query costs {}, more than the limit of {}; ask for fewer items per page or fewer fields",
                    result.complexity, self.max_complexity
                ),
                code::QUERY_TOO_COMPLEX,
            ))
        } else if result.depth > self.max_depth {
            Some(coded(
                &format!(
                    "the query nests {} levels deep, more than the limit of {}; ask for fewer nested fields",
                    result.depth, self.max_depth
                ),
                code::QUERY_TOO_COMPLEX,
            ))
        } else {
            None
        }
    }
}

/// Whether an error of a field came from parsing one of its arguments:
/// async-graphql places those at the argument's value, or at no position
/// when a required argument is missing.
fn is_argument_error(err: &ServerError, arguments: &[Pos]) -> bool {
    match err.locations.as_slice() {
        [location] => *location == Pos::default() || arguments.contains(location),
        _ => false,
    }
}

fn argument_positions(info: &ResolveInfo<'_>) -> Vec<Pos> {
    info.field
        .arguments
        .iter()
        .map(|(_, value)| value.pos)
        .collect()
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut err| {
            code_unless_set(&mut err, code::BAD_REQUEST);
            err
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        match next.run(ctx).await {
            Ok(result) => match self.over_limits(&result) {
                Some(err) => Err(vec![err]),
                None => Ok(result),
            },
            Err(mut errors) => {
                for err in &mut errors {
                    code_unless_set(err, code::BAD_REQUEST);
                }
                Err(errors)
            }
        }
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match &self.execution {
            Execution::Refused => Response::new(Value::Null),
            Execution::Runs { panic_operation } => {
                if let Some(name) = panic_operation
                    && operation_name == Some(name.as_str())
                {
                    panic!("operation `{name}` panics (TEST_PANIC_OPERATION)");
                }
                next.run(ctx, operation_name).await
            }
        }
    }
}

/// Runs `request` on `schema`, which has no extension, and codes the
/// library's errors: a request refused before anything ran is asked again
/// of `diagnosis` (the same schema with [`ErrorCodes`] and
/// [`Execution::Refused`]), whose answer says why with codes; errors from
/// parsing arguments are coded from the query's text. Only a failed request
/// pays for either.
pub async fn execute<Q, M, S>(
    schema: &Schema<Q, M, S>,
    diagnosis: &Schema<Q, M, S>,
    request: Request,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let query = request.query.clone();
    let operation_name = request.operation_name.clone();
    let variables = request.variables.clone();
    let mut response = schema.execute(request).await;
    if refused_before_running(&response) {
        let mut again = Request::new(query.as_str()).variables(variables);
        if let Some(name) = operation_name {
            again = again.operation_name(name);
        }
        let diagnosed = diagnosis.execute(again).await;
        if !diagnosed.errors.is_empty() {
            response.errors = diagnosed.errors;
        }
    }
    code_argument_errors(&mut response, &query);
    response
}

/// Whether the library refused the request before any field ran: nothing
/// was answered, and no error has a path or a code (every error a resolver
/// raises has its path).
fn refused_before_running(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|err| {
            err.path.is_empty()
                && err
                    .extensions
                    .as_ref()
                    .is_none_or(|ext| ext.get("code").is_none())
        })
}

/// Codes the errors of parsing a field's arguments, where they arise: for
/// the WebSocket schema, whose answers have no request text to look at
/// afterwards. Over HTTP, [`code_argument_errors`] does the same after
/// execution, so that no hook runs for every field of every request.
pub struct ArgumentErrorCodes;

impl ExtensionFactory for ArgumentErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ArgumentErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ArgumentErrorCodes {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let arguments = argument_positions(&info);
        next.run(ctx, info).await.map_err(|mut err| {
            if is_argument_error(&err, &arguments) {
                code_unless_set(&mut err, code::VALIDATION);
            }
            err
        })
    }
}

/// Sets `VALIDATION` on the errors that came from parsing an argument of
/// `query`: those located at an argument's value, or at no position (a
/// required argument missing). Runs only for a response with an error that
/// has no code yet, so it may parse the query again.
fn code_argument_errors(response: &mut Response, query: &str) {
    let uncoded = |err: &ServerError| {
        !err.path.is_empty()
            && err
                .extensions
                .as_ref()
                .is_none_or(|ext| ext.get("code").is_none())
    };
    if !response.errors.iter().any(uncoded) {
        return;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return;
    };
    let mut arguments = Vec::new();
    for (_, operation) in document.operations.iter() {
        argument_values(&operation.node.selection_set.node, &mut arguments);
    }
    for fragment in document.fragments.values() {
        argument_values(&fragment.node.selection_set.node, &mut arguments);
    }
    for err in response.errors.iter_mut().filter(|e| uncoded(e)) {
        if is_argument_error(err, &arguments) {
            code_unless_set(err, code::VALIDATION);
        }
    }
}

/// The positions of every argument value in a selection set, nested ones too.
fn argument_values(set: &SelectionSet, out: &mut Vec<Pos>) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                out.extend(field.node.arguments.iter().map(|(_, value)| value.pos));
                argument_values(&field.node.selection_set.node, out);
            }
            Selection::InlineFragment(fragment) => {
                argument_values(&fragment.node.selection_set.node, out);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        EmptyMutation, EmptySubscription, Object, Request, Response, Schema, Variables,
    };
    use serde_json::json;

    use super::{ErrorCodes, Execution};
    use crate::error::{AppError, INTERNAL_MESSAGE};

    struct Query;

    #[Object]
    impl Query {
        async fn echo(&self, n: i32) -> i32 {
            n
        }
        async fn id(&self, id: uuid::Uuid) -> String {
            id.to_string()
        }
        async fn nested(&self) -> Query {
            Query
        }
        async fn missing(&self) -> async_graphql::Result<i32> {
            Err(AppError::NotFound("no such thing".into()).into())
        }
        async fn uncoded(&self) -> async_graphql::Result<i32> {
            Err("a library error nobody coded".into())
        }
    }

    type TestSchema = Schema<Query, EmptyMutation, EmptySubscription>;

    /// Limits small enough to reach: depth 3, complexity 5; as the server
    /// builds its schemas (`graphql::build_schema` and its diagnosis).
    fn schemas() -> (TestSchema, TestSchema) {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_depth(3)
            .limit_complexity(5)
            .finish();
        let diagnosis = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(ErrorCodes {
                max_depth: 3,
                max_complexity: 5,
                execution: Execution::Refused,
            })
            .finish();
        (schema, diagnosis)
    }

    async fn run(query: &str, variables: serde_json::Value) -> Response {
        let (schema, diagnosis) = schemas();
        let request = Request::new(query).variables(Variables::from_json(variables));
        super::execute(&schema, &diagnosis, request).await
    }

    fn code(response: &async_graphql::Response) -> Option<String> {
        let err = response.errors.first().expect("an error");
        match err.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.clone()),
            other => panic!("code is not a string: {other:?}"),
        }
    }

    #[tokio::test]
    async fn syntax_errors_are_bad_requests() {
        let res = run("{ echo(n: 1) ", json!({})).await;
        assert_eq!(code(&res).as_deref(), Some("BAD_REQUEST"));
    }

    #[tokio::test]
    async fn invalid_documents_are_bad_requests() {
        for query in ["{ nickname }", "{ echo }", "{ echo(n: \"one\") }"] {
            let res = run(query, json!({})).await;
            assert_eq!(code(&res).as_deref(), Some("BAD_REQUEST"), "{query}");
        }
    }

    #[tokio::test]
    async fn unknown_operations_are_bad_requests() {
        // Chosen after validation, outside every hook: the request-level
        // default of `finalize` codes it, as an error without a path.
        let (schema, diagnosis) = schemas();
        let request = Request::new("query A { echo(n: 1) }").operation_name("B");
        let res = super::execute(&schema, &diagnosis, request).await;
        let res = crate::graphql::http::finalize(res, "req-1");
        assert_eq!(code(&res).as_deref(), Some("BAD_REQUEST"));
    }

    #[tokio::test]
    async fn too_deep_and_too_complex_are_coded() {
        let deep = run("{ nested { nested { nested { echo(n: 1) } } } }", json!({})).await;
        assert_eq!(code(&deep).as_deref(), Some("QUERY_TOO_COMPLEX"));
        assert_eq!(
            deep.errors[0].message,
            "the query nests 4 levels deep, more than the limit of 3; ask for fewer nested fields"
        );

        let wide = run(
            "{ a: echo(n: 1) b: echo(n: 2) c: echo(n: 3) d: echo(n: 4) e: echo(n: 5) f: echo(n: 6) }",
            json!({}),
        )
        .await;
        assert_eq!(code(&wide).as_deref(), Some("QUERY_TOO_COMPLEX"));
        assert_eq!(
            wide.errors[0].message,
            "the query costs 6, more than the limit of 5; ask for fewer items per page or fewer fields"
        );
    }

    #[tokio::test]
    async fn queries_at_the_limits_run() {
        let at_depth = run("{ nested { nested { echo(n: 1) } } }", json!({})).await;
        assert!(at_depth.errors.is_empty(), "{:?}", at_depth.errors);
        let at_complexity = run(
            "{ a: echo(n: 1) b: echo(n: 2) c: echo(n: 3) d: echo(n: 4) e: echo(n: 5) }",
            json!({}),
        )
        .await;
        assert!(
            at_complexity.errors.is_empty(),
            "{:?}",
            at_complexity.errors
        );
    }

    #[tokio::test]
    async fn arguments_that_do_not_parse_are_coded() {
        // Variables of a built-in scalar's wrong type fail validation.
        let res = run("query($n: Int!) { echo(n: $n) }", json!({ "n": "one" })).await;
        assert_eq!(code(&res).as_deref(), Some("BAD_REQUEST"));
        // The others fail when the field parses its arguments.
        let res = run("{ id(id: \"not a uuid\") }", json!({})).await;
        assert_eq!(code(&res).as_deref(), Some("VALIDATION"));
        let res = run("query($n: Int!) { echo(n: $n) }", json!({})).await;
        assert_eq!(
            code(&res).as_deref(),
            Some("VALIDATION"),
            "a variable left out"
        );
        let res = run("query($id: UUID!) { id(id: $id) }", json!({ "id": 5 })).await;
        assert_eq!(
            code(&res).as_deref(),
            Some("VALIDATION"),
            "{:?}",
            res.errors
        );
        let res = run(
            "query($id: UUID!) { nested { id(id: $id) } }",
            json!({ "id": "not a uuid" }),
        )
        .await;
        assert_eq!(code(&res).as_deref(), Some("VALIDATION"));
        assert_eq!(res.errors[0].path.len(), 2, "the error names its field");
    }

    #[tokio::test]
    async fn codes_set_by_resolvers_are_kept() {
        let res = run("{ missing }", json!({})).await;
        assert_eq!(code(&res).as_deref(), Some("NOT_FOUND"));
    }

    #[tokio::test]
    async fn uncoded_resolver_errors_become_internal_and_say_nothing() {
        let res = run("{ uncoded }", json!({})).await;
        assert_eq!(code(&res), None, "not an argument error");
        let res = crate::graphql::http::finalize(res, "req-1");
        assert_eq!(code(&res).as_deref(), Some("INTERNAL"));
        assert_eq!(res.errors[0].message, INTERNAL_MESSAGE);
    }
}
