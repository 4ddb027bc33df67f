/*
 * place_oui.h - the IEEE MAC address registry (Debian's ieee-data: oui.csv for MA-L, mam.csv for
 * MA-M, oui36.csv for MA-S), loaded once into a hash and asked for the vendor of a MAC by its
 * longest registered prefix.
 */
#ifndef GW_PLACE_OUI_H
#define GW_PLACE_OUI_H

#include <stddef.h>
#include <stdint.h>

#define PLACE_OUI_DIR "/usr/share/ieee-data"
#define PLACE_OUI_TEXT_LEN 16 /* "70:B3:D5:F2:F" and a NUL */

struct place_oui;

/*
 * Reads the registry files of `dir` (a missing MA-M or MA-S file is not an error; a missing
 * oui.csv is). Returns the index, or NULL with the reason in err.
 */
struct place_oui *place_oui_load(const char *dir, char *err, size_t errlen);
void place_oui_free(struct place_oui *o);
size_t place_oui_count(const struct place_oui *o);

/*
 * The organisation that holds the longest registered prefix of mac, or NULL (then prefix is the
 * MA-L one). prefix gets that prefix as text ("B8:27:EB", "70:B3:D5:F2:F").
 */
const char *place_oui_vendor(const struct place_oui *o, const uint8_t mac[6],
			     char prefix[PLACE_OUI_TEXT_LEN]);

/* A prefix written as hex digits with or without colons ("B8:27:EB", "b827eb", "70B3D5F2F"):
 * its value and length in bits (24, 28 or 36). 0, or -1 when it is not one. */
int place_oui_parse_prefix(const char *s, uint64_t *value, unsigned *bits);
/* Whether mac starts with that prefix. */
int place_oui_prefix_matches(uint64_t value, unsigned bits, const uint8_t mac[6]);

#endif
