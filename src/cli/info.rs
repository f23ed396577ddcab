//! `neurona info`: the GPU adapters wgpu finds, and what auto would pick.

use neurona::{Backend, Device, Result, gpu};

pub fn run() -> Result<()> {
    let adapters = gpu::adapters();
    if adapters.is_empty() {
        println!("no GPU adapters found");
    }
    for a in &adapters {
        let kind = if a.software { "software" } else { "hardware" };
        println!(
            "{} ({}, {}, {kind}) {}",
            a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "  max buffer {} MiB, max storage binding {} MiB, {} workgroups per dimension, \
             {} KiB workgroup memory, {} invocations per workgroup",
            a.max_buffer_size >> 20,
            a.max_storage_binding >> 20,
            a.max_workgroups_per_dimension,
            a.max_workgroup_storage >> 10,
            a.max_invocations_per_workgroup
        );
    }
    println!("--backend auto would use: {}", Device::new(Backend::Auto)?);
    Ok(())
}
