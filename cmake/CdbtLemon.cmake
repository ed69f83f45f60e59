# Turn a lemon grammar into C.  lemon exits non-zero on any parsing conflict,
# which fails the build.  Always pairs /usr/bin/lemon with the lempar.c of the
# same package.
find_program(LEMON_EXECUTABLE lemon)
find_file(LEMON_TEMPLATE lempar.c PATHS /usr/share/lemon /usr/local/share/lemon NO_DEFAULT_PATH)
if(NOT LEMON_EXECUTABLE OR NOT LEMON_TEMPLATE)
  message(FATAL_ERROR "lemon parser generator not found: install the Debian package 'lemon' (apt-get install lemon), or run scripts/bootstrap as root")
endif()
function(cdbt_lemon grammar base)
  set(outdir ${CMAKE_BINARY_DIR}/generated)
  file(MAKE_DIRECTORY ${outdir})
  string(TOUPPER ${base} ubase)
  add_custom_command(
    OUTPUT ${outdir}/${base}.c ${outdir}/${base}.h
    COMMAND ${CMAKE_COMMAND} -E copy ${grammar} ${outdir}/${base}.y
    COMMAND ${LEMON_EXECUTABLE} -q -T${LEMON_TEMPLATE} -d${outdir} ${outdir}/${base}.y
    DEPENDS ${grammar}
    COMMENT "lemon ${grammar}"
    VERBATIM)
  set(${ubase}_C ${outdir}/${base}.c PARENT_SCOPE)
  set(${ubase}_H ${outdir}/${base}.h PARENT_SCOPE)
endfunction()
