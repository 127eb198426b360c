set -e
app=$1 login=$2 svc=$3 releases=$4 meta=$5 logs=$6 bin=$7 shared=$8
mk() { if [ ! -d "$1" ]; then install -d -m "$2" -o "$3" -g "$(id -gn "$3")" "$1"; echo "created $1"; fi; }
mk "$app" 0755 "$login"
mk "$releases" 0755 "$login"
mk "$meta" 0700 "$login"
mk "$logs" 0700 "$login"
mk "$bin" 0700 "$login"
mk "$shared" 0750 "${svc:-$login}"
