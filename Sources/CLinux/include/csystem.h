#ifndef CROSS_CSYSTEM_H
#define CROSS_CSYSTEM_H

#include <sys/types.h>

/// fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length): reserves disk space past the end of a file without
/// changing its size, so that later appends cannot fail half-way for lack of space. Glibc declares fallocate
/// only under _GNU_SOURCE, which Swift's Glibc module does not set. Returns 0, or -1 with errno set.
int cross_reserve_space(int fd, off_t offset, off_t length);

/// syncfs(fd): flushes every file of the filesystem holding fd, names and contents, to disk. Same reason.
int cross_sync_filesystem(int fd);

/// Takes (waiting for it) an exclusive open-file-description lock (F_OFD_SETLKW) on one byte of a file; closing
/// the file releases it. Like flock it belongs to the open file, so it holds between threads that
/// each opened the file as well as between processes; unlike flock it covers a range, so that one lock
/// file holds a lock per order. Returns 0, or -1 with errno set.
int cross_lock_byte(int fd, off_t offset);

/// mallopt(M_MMAP_THRESHOLD, bytes): allocations of this size and more come from mmap and go back to the system
/// when freed (malloc.h is not in Swift's Glibc module). Returns 1 on success.
int cross_set_mmap_threshold(int bytes);

/// malloc_trim(0): gives the freed memory at the top of every arena back to the system.
int cross_release_free_memory(void);

/// Lowers the calling thread's scheduling priority (Linux lets one thread be niced alone).
int cross_lower_thread_priority(int increment);

#endif
