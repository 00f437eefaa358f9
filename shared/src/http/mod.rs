//! The HTTP adapter: reading API Gateway requests and writing JSON responses.

pub mod cursor;
pub mod errors;
pub mod request;
pub mod response;

pub use errors::ApiError;
