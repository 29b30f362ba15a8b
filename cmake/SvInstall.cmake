# SvInstall.cmake - what `cmake --install` puts in place, under the usual
# GNUInstallDirs names: bin/supervise; lib/libsv.so.0.2.0 (SONAME libsv.so.1),
# libsv.so and libsv.a; include/supervise/*.h; lib/pkgconfig/supervise.pc;
# lib/cmake/supervise/ (find_package(supervise): supervise::sv, shared, and
# supervise::sv_static). The man pages and bash completion install from
# docs/man/ and completion/. Every destination is relative to the prefix, so
# `cmake --install BUILD --prefix DIR` and DESTDIR both relocate everything.
include(CMakePackageConfigHelpers)

install(TARGETS supervise RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS sv_shared EXPORT superviseTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS sv EXPORT superviseStaticTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/supervise DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

set(SV_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/supervise)
install(EXPORT superviseTargets NAMESPACE supervise:: DESTINATION ${SV_CMAKE_DIR})
install(EXPORT superviseStaticTargets NAMESPACE supervise:: DESTINATION ${SV_CMAKE_DIR})
configure_package_config_file(cmake/superviseConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/superviseConfig.cmake
  INSTALL_DESTINATION ${SV_CMAKE_DIR})
# 0.x: a minor release may break the API, so only the same 0.MINOR matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/superviseConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/superviseConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/superviseConfigVersion.cmake
  DESTINATION ${SV_CMAKE_DIR})

# supervise.pc is written at install time, not configure time, so that its
# prefix is the one given to `cmake --install --prefix`.
set(SV_PC_OUT ${PROJECT_BINARY_DIR}/pkgconfig/supervise.pc)
install(CODE "
  set(SV_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(SV_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(SV_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  foreach(v LIBDIR INCLUDEDIR)
    if(NOT IS_ABSOLUTE \"\${SV_PC_\${v}}\")
      set(SV_PC_\${v} \"\\\${prefix}/\${SV_PC_\${v}}\")
    endif()
  endforeach()
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/supervise.pc.in\" \"${SV_PC_OUT}\" @ONLY)
")
install(FILES ${SV_PC_OUT} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
