#include <stdio.h>
#include "portwarden.skel.h"
int main(void) { struct portwarden *s = portwarden__open(); portwarden__destroy(s); return 0; }
