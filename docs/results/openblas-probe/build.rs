//! Links numpy's OpenBLAS: `OPENBLAS_DIR` is the directory that holds
//! `libscipy_openblas64_*.so` (numpy.libs of a numpy wheel), `OPENBLAS_LIB` its name without
//! `lib` and `.so`.
fn main() {
    let dir = std::env::var("OPENBLAS_DIR").expect("set OPENBLAS_DIR (see run28-openblas.sh)");
    let lib = std::env::var("OPENBLAS_LIB").expect("set OPENBLAS_LIB (see run28-openblas.sh)");
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=dylib={lib}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    println!("cargo:rerun-if-env-changed=OPENBLAS_DIR");
    println!("cargo:rerun-if-env-changed=OPENBLAS_LIB");
}
