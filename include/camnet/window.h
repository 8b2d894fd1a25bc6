/* cn_window: the annotated video in an SDL2 window.
 *
 * The window scales the picture to its size keeping the aspect ratio
 * (letterboxed). Keys: Esc or Q quit, H toggles the help text, F toggles
 * fullscreen, S takes a snapshot, Tab asks for the next source. Other threads
 * hand over pictures through a mailbox and wake the window with
 * cn_window_wake(); the window thread shows the newest picture, never a queue.
 *
 * Threads: open, wait, show and close on the main thread (SDL's rule);
 * cn_window_post() from any thread.
 * Errors: open fails with CN_ENODEV "no display: <SDL's reason>" when no
 * display is available, so the program can run headless instead.
 */
#ifndef CN_WINDOW_H
#define CN_WINDOW_H

#include "camnet/version.h"

#include "camnet/error.h"
#include "camnet/frame.h"

typedef struct cn_window cn_window_t;

typedef enum cn_window_event {
  CN_WIN_NONE = 0,   /* timeout */
  CN_WIN_QUIT,       /* Esc, Q or the window closed */
  CN_WIN_HELP,       /* H: help toggled; see cn_window_help() */
  CN_WIN_FULLSCREEN, /* F: fullscreen toggled */
  CN_WIN_SNAPSHOT,   /* S */
  CN_WIN_NEXT,       /* Tab: show the next source */
  CN_WIN_FRAME,      /* a picture was posted */
  CN_WIN_WAKE,       /* cn_window_wake() */
} cn_window_event_t;

/* Main thread: opens a width x height window (resizable). CN_ENODEV
 * without a display. */
CN_API int cn_window_open(const char *title, int width, int height,
                          cn_window_t **out, cn_err_t *err);
/* Main thread: closes it and drops its pictures. NULL is a no-op. */
CN_API void cn_window_close(cn_window_t *w);

/* Any thread: makes canvas (BGRA, a new reference is taken) the picture
 * to show next, replacing one not yet shown, and wakes the window. */
CN_API void cn_window_post(cn_window_t *w, cn_frame_t *canvas);

/* Any thread: wakes cn_window_wait() with CN_WIN_WAKE. */
CN_API void cn_window_wake(cn_window_t *w);

/* Main thread: waits up to timeout_ms for an event; shows a posted
 * picture before returning CN_WIN_FRAME. */
CN_API cn_window_event_t cn_window_wait(cn_window_t *w, int timeout_ms);

/* Help text and fullscreen states (toggled by H and F); both start off. */
CN_API bool cn_window_help(const cn_window_t *w);
CN_API bool cn_window_fullscreen(const cn_window_t *w);

/* A new reference to the picture last shown, or NULL. */
CN_API cn_frame_t *cn_window_last(cn_window_t *w);

#endif
