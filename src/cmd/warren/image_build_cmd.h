/* The image build, bundle and unbundle commands of warren (image_build_cmd.c).
 * ROOT is the state directory, STORE_DIR the store in it; ARGV starts with
 * the command's name. */
#ifndef WARREN_IMAGE_BUILD_CMD_H
#define WARREN_IMAGE_BUILD_CMD_H

int warren_cmd_image_build (const char *root, const char *store_dir, int argc, char **argv);
int warren_cmd_image_bundle (const char *root, const char *store_dir, int argc, char **argv);
int warren_cmd_image_unbundle (int argc, char **argv);
/* image_push_cmd.c */
int warren_cmd_image_push (const char *root, const char *store_dir, int argc, char **argv);

#endif
