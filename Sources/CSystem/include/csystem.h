#ifndef CROSS_CSYSTEM_H
#define CROSS_CSYSTEM_H

#include <sys/types.h>

/// fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length): reserves disk space past the end of a file without
/// changing its size, so that later appends cannot fail half-way for lack of space. Glibc declares fallocate
/// only under _GNU_SOURCE, which Swift's Glibc module does not set. Returns 0, or -1 with errno set.
int cross_reserve_space(int fd, off_t offset, off_t length);

#endif
