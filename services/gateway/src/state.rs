use std::sync::Arc;

use radiant_bus::BusClient;

use crate::auth::Authenticator;
use crate::config::GatewayConfig;

/// What every HTTP and gRPC handler shares.
#[derive(Clone)]
pub struct AppState {
    pub bus: BusClient,
    pub authenticator: Arc<Authenticator>,
    pub config: Arc<GatewayConfig>,
}
