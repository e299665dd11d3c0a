// Flite's CMU lexicon and its letter-to-sound rules: pronunciations for words the
// PocketSphinx dictionary does not have (custom vocabulary).
#include <flite/flite.h>

cst_lexicon *cmulex_init(void);
