# qlab_skip_pch_where_torch_free(<sources>...): the sources whose includes,
# followed through the project's own headers, never reach LibTorch compile
# without the precompiled LibTorch header. Loading that header costs a file
# more (2-5 s) than most torch-free files take to compile whole, and about
# half of qlab's files are torch-free (tokenizers, readers, judges, the CLI's
# study commands). LibTorch here is <torch/...> and <ATen/...> (not the small
# c10 headers, nor torch/version.h). An #include under #if counts as taken: a
# file that might reach LibTorch keeps the header.

# Sets <out> to TRUE when <file> includes a LibTorch header, directly or
# through quoted includes found under the source tree or beside the file;
# answers are kept per file in global properties.
function(qlab_reaches_torch file out)
  get_property(known GLOBAL PROPERTY "qlab_torch:${file}" SET)
  if(NOT known)
    set_property(GLOBAL PROPERTY "qlab_torch:${file}" FALSE)   # an include cycle ends here
    file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include")
    get_filename_component(dir ${file} DIRECTORY)
    set(reaches FALSE)
    foreach(line IN LISTS lines)
      if(line MATCHES "<(torch|ATen)/" AND NOT line MATCHES "<torch/version.h>")
        set(reaches TRUE)
      elseif(line MATCHES "\"([^\"]+)\"")
        foreach(candidate ${CMAKE_SOURCE_DIR}/${CMAKE_MATCH_1} ${dir}/${CMAKE_MATCH_1})
          if(EXISTS ${candidate})
            qlab_reaches_torch(${candidate} reaches)
            break()
          endif()
        endforeach()
      endif()
      if(reaches)
        break()
      endif()
    endforeach()
    set_property(GLOBAL PROPERTY "qlab_torch:${file}" ${reaches})
  endif()
  get_property(answer GLOBAL PROPERTY "qlab_torch:${file}")
  set(${out} ${answer} PARENT_SCOPE)
endfunction()

function(qlab_skip_pch_where_torch_free)
  foreach(src IN LISTS ARGN)
    get_filename_component(path ${src} ABSOLUTE)
    if(path MATCHES "\\.cpp$")
      qlab_reaches_torch(${path} reaches)
      if(NOT reaches)
        set_source_files_properties(${src} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
      endif()
    endif()
  endforeach()
endfunction()
