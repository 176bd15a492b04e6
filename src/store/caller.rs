//! Which function a DynamoDB call is made for: a task-local name (`crate::function::Function`'s
//! `name()`: `users`, `groups`, ..., `cleanup`, `webhooks`) set by each function's entry point and carried
//! into the tasks a call spawns (`inherit`). The SDK interceptor reads it so that, under the
//! `local` feature, the IAM test can hold every call the suite makes against the IAM statements
//! of the function that made it (`store::iam_record`). Calls made outside any scope are the
//! operator's (`scimctl`, test set-up) and are not a function's.

use std::future::Future;

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// Runs `f` as a call of `function`. Boxed: a request's future is large, and a task-local scope
/// would otherwise hold a second copy of it inline (the test threads' 2 MB stacks overflowed).
pub fn scope<F: Future>(function: &'static str, f: F) -> impl Future<Output = F::Output> {
    FUNCTION.scope(function, Box::pin(f))
}

/// The function the current task works for, if any.
pub fn current() -> Option<&'static str> {
    FUNCTION.try_with(|f| *f).ok()
}

/// `f`, run as a call of the current task's function (for futures handed to `tokio::spawn`,
/// which do not inherit task-locals).
pub fn inherit<F: Future>(f: F) -> impl Future<Output = F::Output> {
    let function = current();
    async move {
        match function {
            Some(name) => FUNCTION.scope(name, Box::pin(f)).await,
            None => f.await,
        }
    }
}
