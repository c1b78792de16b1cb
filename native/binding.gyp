{
  # Built explicitly by scripts/build-native.sh (never by `npm install`: this file is not at the root).
  "targets": [
    {
      "target_name": "oscope_native",
      "sources": ["src/main.c", "src/util.c", "src/sys.c", "src/bpf.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags!": ["-fno-exceptions"],
      "libraries": ["<!@(pkg-config --libs libbpf)"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I libbpf | sed -e 's/-I//g')"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
