# SvWindowsDeps.cmake - libuv, jansson and cmocka for a Windows (mingw-w64)
# build, found in CMAKE_FIND_ROOT_PATH (scripts/windows.sh builds them from
# Debian's sources). Each is given the imported target name the Linux build
# gets from pkg-config, so the rest of the build names one target either way.
# Static libraries are preferred: the programs then run under wine, or copied
# to a Windows machine, without DLLs of ours beside them.

# libuv's own config works for mingw (uv, uv_a, with ws2_32 and friends).
find_package(libuv CONFIG REQUIRED)
add_library(PkgConfig::LIBUV INTERFACE IMPORTED)
if(TARGET libuv::uv_a)
  target_link_libraries(PkgConfig::LIBUV INTERFACE libuv::uv_a)
elseif(TARGET uv_a)
  target_link_libraries(PkgConfig::LIBUV INTERFACE uv_a)
else()
  target_link_libraries(PkgConfig::LIBUV INTERFACE uv)
endif()

find_path(JANSSON_INCLUDE_DIR jansson.h REQUIRED)
find_library(JANSSON_LIBRARY NAMES libjansson.a jansson REQUIRED)
add_library(PkgConfig::JANSSON INTERFACE IMPORTED)
target_include_directories(PkgConfig::JANSSON INTERFACE ${JANSSON_INCLUDE_DIR})
target_link_libraries(PkgConfig::JANSSON INTERFACE ${JANSSON_LIBRARY})

# cmocka 1.1.5's cmocka-config.cmake names lib/cmocka.dll.a, which its mingw
# install does not have (it has libcmocka.dll.a and libcmocka-static.a).
if(SV_BUILD_TESTS)
  find_path(CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)
  find_library(CMOCKA_LIBRARY NAMES cmocka-static cmocka REQUIRED)
  add_library(PkgConfig::CMOCKA INTERFACE IMPORTED)
  target_include_directories(PkgConfig::CMOCKA INTERFACE ${CMOCKA_INCLUDE_DIR})
  target_link_libraries(PkgConfig::CMOCKA INTERFACE ${CMOCKA_LIBRARY})
endif()

# PCRE2 (8-bit, static) for platform/win/regex.c: the C runtime has no
# <regex.h>. Linux keeps the C library's. PCRE2_STATIC: pcre2.h otherwise
# declares every function dllimport.
find_path(PCRE2_INCLUDE_DIR pcre2.h REQUIRED)
find_library(PCRE2_LIBRARY NAMES libpcre2-8.a pcre2-8 REQUIRED)
add_library(sv::pcre2 INTERFACE IMPORTED)
target_include_directories(sv::pcre2 INTERFACE ${PCRE2_INCLUDE_DIR})
target_compile_definitions(sv::pcre2 INTERFACE PCRE2_STATIC)
target_link_libraries(sv::pcre2 INTERFACE ${PCRE2_LIBRARY})
