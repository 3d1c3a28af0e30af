//! The contracts in `proto/`, generated once and used on both transports: as protobuf
//! payloads on NATS and as tonic services on the gateway's gRPC port.

pub mod radiant {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("radiant.common.v1");
        }
    }
    pub mod system {
        pub mod v1 {
            tonic::include_proto!("radiant.system.v1");
        }
    }
    pub mod media {
        pub mod v1 {
            tonic::include_proto!("radiant.media.v1");
        }
    }
    pub mod registry {
        pub mod v1 {
            tonic::include_proto!("radiant.registry.v1");
        }
    }
    pub mod tm {
        pub mod v1 {
            tonic::include_proto!("radiant.tm.v1");
        }
    }
    pub mod brain {
        pub mod v1 {
            tonic::include_proto!("radiant.brain.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("radiant.events.v1");
        }
    }
}

pub mod live;

pub use radiant::brain::v1 as brain;
pub use radiant::common::v1 as common;
pub use radiant::events::v1 as events;
pub use radiant::media::v1 as media;
pub use radiant::registry::v1 as registry;
pub use radiant::system::v1 as system;
pub use radiant::tm::v1 as tm;

/// Every compiled file descriptor, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/radiant_descriptor.bin"));
