//! The cold-start baseline: the smallest `lambda_http` function, built in the same run, with the
//! same runtime crates and profile as the SCIM functions (`infra/coldstart.sh` compares them).

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello"))
            .map_err(Error::from)
    }))
    .await
}
