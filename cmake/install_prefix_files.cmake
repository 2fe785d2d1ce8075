# Runs at install time (from CMakeLists.txt's install(CODE)), when CMAKE_INSTALL_PREFIX is the
# final prefix: writes rseqmalloc.pc, rseqmalloc-static.pc and rseqmalloc-run with absolute
# installed paths and installs them (file(INSTALL) honours DESTDIR).
set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(dir LIBDIR INCLUDEDIR BINDIR)
  if(IS_ABSOLUTE "${RSEQMALLOC_${dir}}")
    set(full_${dir} "${RSEQMALLOC_${dir}}")
  else()
    set(full_${dir} "${prefix}/${RSEQMALLOC_${dir}}")
  endif()
endforeach()

set(staging "${RSEQMALLOC_BINARY_DIR}/install-time")
file(MAKE_DIRECTORY "${staging}")
foreach(pc rseqmalloc rseqmalloc-static)
  configure_file("${RSEQMALLOC_SOURCE_DIR}/cmake/${pc}.pc.in" "${staging}/${pc}.pc" @ONLY)
endforeach()
file(INSTALL "${staging}/rseqmalloc.pc" "${staging}/rseqmalloc-static.pc"
     DESTINATION "${full_LIBDIR}/pkgconfig")

# The launcher is tools/rseqmalloc-run with its installed_lib line filled in.
file(READ "${RSEQMALLOC_SOURCE_DIR}/tools/rseqmalloc-run" launcher)
string(REPLACE "installed_lib=\"\"" "installed_lib=\"${full_LIBDIR}/librseqmalloc.so\""
       filled "${launcher}")
if(filled STREQUAL launcher)
  message(FATAL_ERROR "tools/rseqmalloc-run has no installed_lib=\"\" line to fill in")
endif()
file(WRITE "${staging}/rseqmalloc-run" "${filled}")
file(INSTALL "${staging}/rseqmalloc-run" DESTINATION "${full_BINDIR}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                      WORLD_READ WORLD_EXECUTE)
