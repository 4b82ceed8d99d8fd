#define _GNU_SOURCE
#include <fcntl.h>
#include "csystem.h"

int cross_reserve_space(int fd, off_t offset, off_t length) {
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length);
}
