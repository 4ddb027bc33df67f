/* place_key.c - fleet key file and keyed MAC hashes (OpenSSL HMAC). See place_key.h. */
#include "place_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int place_key_load(struct place_key *key, const char *path, char *err, size_t errlen)
{
	uint8_t buf[PLACE_KEY_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd;

	key->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
			 buf[n - 1] == '\t'))
		n--;
	if (n < PLACE_KEY_MIN || n > PLACE_KEY_MAX) {
		snprintf(err, errlen, "%s: a key is %d to %d bytes, this one is %zd", path,
			 PLACE_KEY_MIN, PLACE_KEY_MAX, n);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "%s: readable or writable by others: whoever reads it can "
			 "undo the hashes of every host's neighbours", path);
		return -1;
	}
	memcpy(key->bytes, buf, (size_t)n);
	key->len = (size_t)n;
	err[0] = 0;
	return 0;
}

void place_key_hash(const struct place_key *key, const uint8_t *data, size_t len,
		    char out[PLACE_HASH_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;

	out[0] = 0;
	if (!key->len || !HMAC(EVP_sha256(), key->bytes, (int)key->len, data, len, md, &md_len) ||
	    md_len < 8)
		return;
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
