//! Background work: the export job consumer and the event relay.

pub mod exports;
