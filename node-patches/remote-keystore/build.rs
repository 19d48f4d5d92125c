//! Generates the RemoteKeystore message types from the project's one `.proto` (protoc from Debian's protobuf-compiler).
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    // In this repository the proto is signer/proto; a vendored copy (node-patches/apply.sh) carries it in proto/.
    let vendored = manifest_dir.join("proto");
    let proto_dir = if vendored.join("remote_keystore.proto").is_file() { vendored } else { manifest_dir.join("../../signer/proto") };
    let proto = proto_dir.join("remote_keystore.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    // Messages only: the service is called through the crate's own small gRPC transport (src/transport.rs).
    prost_build::Config::new()
        .compile_protos(&[&proto], &[&proto_dir])
        .unwrap_or_else(|error| panic!("protoc failed on {}: {error}", proto.display()));
}
