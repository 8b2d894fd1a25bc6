/* camnet's version, and the mark every exported declaration carries.
 *
 * The numbers are the library's own: CMake reads them from this file, so
 * the headers, the shared library's file name and camnet.pc always agree.
 * cn_version() says which library a program actually runs with, which may
 * be newer than the headers it was built against.
 *
 * ABI: while CN_VERSION_MAJOR is 0 the soname is libcamnet.so.0 and minor
 * versions may change the ABI; every change to it is checked against the
 * baseline in abi/ (make abi-check) and announced in docs/api.md.
 */
#ifndef CAMNET_VERSION_H
#define CAMNET_VERSION_H

#define CN_VERSION_MAJOR 0
#define CN_VERSION_MINOR 2
#define CN_VERSION_PATCH 0
#define CN_VERSION_STRING "0.2.0"

/* Exported from the shared libraries, which hide everything else. */
#if defined(__GNUC__)
#define CN_API __attribute__((visibility("default")))
#else
#define CN_API
#endif

/* "MAJOR.MINOR.PATCH" of the library linked. Any thread. */
CN_API const char *cn_version(void);

#endif
