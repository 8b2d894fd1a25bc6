#include "camnet/window.h"

#include <SDL.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct cn_window {
  SDL_Window *win;
  SDL_Renderer *ren;
  SDL_Texture *tex;
  int tex_w, tex_h;
  Uint32 ev_frame, ev_wake; /* registered user events */
  pthread_mutex_t lock;     /* guards pending */
  cn_frame_t *pending;      /* posted, not shown yet */
  cn_frame_t *shown;        /* main thread only */
  atomic_bool help, fullscreen;
};

/* SDL_Quit, not only the subsystems, once nothing else in the process
 * uses SDL: it also drops SDL's D-Bus connection and hints, so a closed
 * window leaves nothing behind. */
static void quit_sdl(void) {
  SDL_QuitSubSystem(SDL_INIT_VIDEO | SDL_INIT_EVENTS);
  if (SDL_WasInit(SDL_INIT_EVERYTHING) == 0)
    SDL_Quit();
}

int cn_window_open(const char *title, int width, int height, cn_window_t **out,
                   cn_err_t *err) {
  *out = NULL;
  /* Without a display server SDL would fall back to an invisible
   * off-screen window; say so instead. */
  if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
    return cn_err_set(err, CN_ENODEV,
                      "no display: DISPLAY and WAYLAND_DISPLAY are unset");
  /* Signals belong to the program, not to SDL. */
  SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
  if (SDL_InitSubSystem(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
    cn_err_set(err, CN_ENODEV, "no display: %s", SDL_GetError());
    quit_sdl();
    return CN_ENODEV;
  }
  cn_window_t *w = calloc(1, sizeof *w);
  if (!w) {
    quit_sdl();
    return cn_err_set(err, CN_ENOMEM, "window: out of memory");
  }
  pthread_mutex_init(&w->lock, NULL);
  w->win =
      SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
                       width, height, SDL_WINDOW_RESIZABLE);
  if (w->win)
    w->ren = SDL_CreateRenderer(w->win, -1, 0);
  Uint32 first = SDL_RegisterEvents(2);
  if (!w->win || !w->ren || first == (Uint32)-1) {
    cn_err_set(err, CN_ENODEV, "no display: %s", SDL_GetError());
    cn_window_close(w);
    return CN_ENODEV;
  }
  w->ev_frame = first;
  w->ev_wake = first + 1;
  SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
  *out = w;
  return 0;
}

void cn_window_close(cn_window_t *w) {
  if (!w)
    return;
  cn_frame_unref(&w->pending);
  cn_frame_unref(&w->shown);
  if (w->tex)
    SDL_DestroyTexture(w->tex);
  if (w->ren)
    SDL_DestroyRenderer(w->ren);
  if (w->win)
    SDL_DestroyWindow(w->win);
  pthread_mutex_destroy(&w->lock);
  free(w);
  quit_sdl();
}

static void push(Uint32 type) {
  SDL_Event e = {0};
  e.type = type;
  SDL_PushEvent(&e);
}

void cn_window_post(cn_window_t *w, cn_frame_t *canvas) {
  if (canvas->format != CN_PIX_BGRA)
    return; /* not a canvas: nothing the window could show */
  cn_frame_t *ref = cn_frame_ref(canvas);
  pthread_mutex_lock(&w->lock);
  cn_frame_t *old = w->pending;
  w->pending = ref;
  pthread_mutex_unlock(&w->lock);
  /* One wake-up per picture shown: a replaced picture already has one. */
  if (old)
    cn_frame_unref(&old);
  else
    push(w->ev_frame);
}

void cn_window_wake(cn_window_t *w) { push(w->ev_wake); }

/* Letterboxed by the renderer's logical size; the bars are cleared black
 * each time (after a resize they would show whatever was there). */
static void present(cn_window_t *w) {
  SDL_SetRenderDrawColor(w->ren, 0, 0, 0, 255);
  SDL_RenderClear(w->ren);
  SDL_RenderCopy(w->ren, w->tex, NULL, NULL);
  SDL_RenderPresent(w->ren);
}

static void show(cn_window_t *w) {
  pthread_mutex_lock(&w->lock);
  cn_frame_t *f = w->pending;
  w->pending = NULL;
  pthread_mutex_unlock(&w->lock);
  if (!f)
    return;
  if (!w->tex || w->tex_w != f->width || w->tex_h != f->height) {
    if (w->tex)
      SDL_DestroyTexture(w->tex);
    /* XRGB8888 in memory on little-endian is B,G,R,X: the canvas as is. */
    w->tex =
        SDL_CreateTexture(w->ren, SDL_PIXELFORMAT_RGB888,
                          SDL_TEXTUREACCESS_STREAMING, f->width, f->height);
    w->tex_w = f->width;
    w->tex_h = f->height;
    SDL_RenderSetLogicalSize(w->ren, f->width, f->height);
  }
  if (w->tex) {
    SDL_UpdateTexture(w->tex, NULL, f->data, f->stride);
    present(w);
  }
  cn_frame_unref(&w->shown);
  w->shown = f;
}

static cn_window_event_t key(cn_window_t *w, SDL_Keycode k) {
  switch (k) {
  case SDLK_ESCAPE:
  case SDLK_q:
    return CN_WIN_QUIT;
  case SDLK_h:
    atomic_store(&w->help, !atomic_load(&w->help));
    return CN_WIN_HELP;
  case SDLK_f: {
    bool fs = !atomic_load(&w->fullscreen);
    if (SDL_SetWindowFullscreen(w->win,
                                fs ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0) != 0)
      return CN_WIN_NONE; /* the state did not change */
    atomic_store(&w->fullscreen, fs);
    return CN_WIN_FULLSCREEN;
  }
  case SDLK_s:
    return CN_WIN_SNAPSHOT;
  case SDLK_TAB:
    return CN_WIN_NEXT;
  default:
    return CN_WIN_NONE;
  }
}

static cn_window_event_t handle(cn_window_t *w, const SDL_Event *e) {
  if (e->type == SDL_QUIT)
    return CN_WIN_QUIT;
  if (e->type == SDL_KEYDOWN && !e->key.repeat)
    return key(w, e->key.keysym.sym);
  if (e->type == w->ev_frame) {
    show(w);
    return CN_WIN_FRAME;
  }
  if (e->type == w->ev_wake)
    return CN_WIN_WAKE;
  if (e->type == SDL_WINDOWEVENT && w->shown && w->tex)
    present(w); /* after a resize or expose */
  return CN_WIN_NONE;
}

/* Events that mean nothing to the caller (mouse motion, focus, expose) are
 * handled and the wait goes on, so CN_WIN_NONE means the time is up. */
cn_window_event_t cn_window_wait(cn_window_t *w, int timeout_ms) {
  Uint32 start = SDL_GetTicks();
  for (;;) {
    Uint32 spent = SDL_GetTicks() - start;
    int left = timeout_ms > (int)spent ? timeout_ms - (int)spent : 0;
    SDL_Event e;
    if (!SDL_WaitEventTimeout(&e, left))
      return CN_WIN_NONE;
    cn_window_event_t ev = handle(w, &e);
    if (ev != CN_WIN_NONE || left == 0)
      return ev;
  }
}

bool cn_window_help(const cn_window_t *w) { return atomic_load(&w->help); }

bool cn_window_fullscreen(const cn_window_t *w) {
  return atomic_load(&w->fullscreen);
}

cn_frame_t *cn_window_last(cn_window_t *w) {
  return w->shown ? cn_frame_ref(w->shown) : NULL;
}
