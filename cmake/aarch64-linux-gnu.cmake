# Cross-compiles rseqmalloc for aarch64 with Debian's cross toolchain
# (apt: g++-aarch64-linux-gnu; tools/bootstrap.sh cmake installs it):
#   cmake -S . -B build-aarch64 --toolchain cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch cross root; programs and libraries of the build machine are never used.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# qemu-user (apt: qemu-user) runs aarch64 programs on other hosts, e.g. for ctest.
find_program(RSEQMALLOC_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(RSEQMALLOC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${RSEQMALLOC_QEMU_AARCH64}" -L /usr/aarch64-linux-gnu)
endif()
