/* placeholder: not yet written */
typedef int placeholder_unused_t;
