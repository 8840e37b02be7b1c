/* rsink_int.h — private to the rsink module: the embedded Lua scripts
 * (server/rsink_lua.c, generated from server/lua/<name>.lua). */
#ifndef KK_RSINK_INT_H
#define KK_RSINK_INT_H

extern const char rsink__lua_append[];
extern const char rsink__lua_skip[];
extern const char rsink__lua_append0[];

#endif
