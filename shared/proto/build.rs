//! Compiles every `.proto` under the workspace's `proto/` folder with protox (a pure-Rust
//! protobuf compiler, so no `protoc` has to be installed) and generates prost messages and
//! tonic services from the resulting descriptor set.

use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let mut proto_files = Vec::new();
    collect_proto_files(&proto_root, &mut proto_files)?;
    proto_files.sort();
    for proto_file in &proto_files {
        println!("cargo:rerun-if-changed={}", proto_file.display());
    }

    let file_descriptor_set = protox::compile(&proto_files, [&proto_root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // the gateway's gRPC reflection service serves this descriptor set
    std::fs::write(
        out_dir.join("radiant_descriptor.bin"),
        file_descriptor_set.encode_to_vec(),
    )?;

    // the registry's and the time machine's messages are also the gateway's JSON bodies (see
    // registry.proto and time_machine.proto)
    tonic_prost_build::configure()
        .message_attribute(
            ".radiant.registry.v1",
            "#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)] #[serde(default)]",
        )
        .btree_map(".radiant.registry.v1")
        // unknown fields are refused (a typo in a PATCH must not silently do nothing)
        .message_attribute(
            ".radiant.tm.v1",
            "#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)] #[serde(default, deny_unknown_fields)]",
        )
        .btree_map(".radiant.tm.v1")
        .message_attribute(
            ".radiant.brain.v1",
            "#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)] #[serde(default)]",
        )
        .enum_attribute(
            ".radiant.brain.v1.StreamChunk.chunk",
            "#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)] #[serde(rename_all = \"snake_case\")]",
        )
        .build_server(true)
        .build_client(true)
        .compile_fds(file_descriptor_set)?;
    Ok(())
}

fn collect_proto_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_proto_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "proto")
        {
            out.push(path);
        }
    }
    Ok(())
}
