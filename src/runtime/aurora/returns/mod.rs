//! The return path: Aurora writes a JSON snapshot of a case into an Azure blob container on
//! configured triggers, and the consumer polls the container.

mod blob_name;
mod container;
mod snapshot;

pub use blob_name::{
    BLOB_TIME_ZONE, BlobName, common_prefix, day_prefix, format_blob_name, hour_prefix, local_time,
    parse_blob_name, window_prefixes,
};
pub use container::{BlobContainer, BlobContainerSettings, BlobPage, parse_listing};
pub use snapshot::{Snapshot, SnapshotError, insert_path, lookup, parse_timestamp, pascal_case};
